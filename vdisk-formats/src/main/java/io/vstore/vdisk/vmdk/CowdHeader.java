package io.vstore.vdisk.vmdk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The header of a VMFSSPARSE extent ("COWD", ESX 3-6.0 snapshot deltas), little-endian after the
 * magic. Its grain tables hold 4096 entries; there is no redundant directory.
 *
 * <pre>
 *  0 'COWD'   4 u32 version (1)   8 u32 flags   12 u32 capacity (sectors)   16 u32 grainSize (sectors)
 * 20 u32 gdOffset (sectors)      24 u32 numGDEntries   28 u32 freeSector (end of used space)
 * 32.. geometry, parent name, generation, ... (not needed to read data)
 * </pre>
 *
 * @param version format version
 * @param flags header flags
 * @param capacity extent size in sectors
 * @param grainSize grain size in sectors
 * @param gdOffset grain directory offset in sectors
 * @param gdEntries grain directory entries
 * @param freeSector first unused sector of the file
 */
record CowdHeader(int version, int flags, long capacity, long grainSize, long gdOffset, long gdEntries, long freeSector) {
  /** "COWD" read as a little-endian u32. */
  static final int MAGIC = 0x44574f43;
  /** Grain table entries per table in a COWD extent. */
  static final int GTES = 4096;
  /** Bytes of the fields this package reads. */
  static final int SIZE = 32;

  /** Returns whether the first four bytes of {@code b} (little-endian) are the COWD magic. */
  static boolean hasMagic(ByteBuffer b) {
    return b.remaining() >= 4 && b.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt() == MAGIC;
  }

  /** Reads the header from the next 32 bytes of {@code b}; the magic must have been checked. */
  static CowdHeader read(ByteBuffer b) {
    ByteBuffer h = b.slice(b.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.position(b.position() + SIZE);
    return new CowdHeader(h.getInt(4), h.getInt(8), Integer.toUnsignedLong(h.getInt(12)), Integer.toUnsignedLong(h.getInt(16)),
        Integer.toUnsignedLong(h.getInt(20)), Integer.toUnsignedLong(h.getInt(24)), Integer.toUnsignedLong(h.getInt(28)));
  }

  /** Writes the header's fields to the next 32 bytes of {@code b}. */
  void write(ByteBuffer b) {
    ByteBuffer h = b.slice(b.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    h.putInt(0, MAGIC).putInt(4, version).putInt(8, flags).putInt(12, (int) capacity).putInt(16, (int) grainSize)
        .putInt(20, (int) gdOffset).putInt(24, (int) gdEntries).putInt(28, (int) freeSector);
    b.position(b.position() + SIZE);
  }

  /** Returns the equivalent hosted sparse header, so one reader serves both (no RGD, no flags). */
  SparseHeader asSparseHeader() {
    return new SparseHeader(1, 0, capacity, grainSize, 0, 0, GTES, 0, gdOffset, 0, false, 0);
  }
}
