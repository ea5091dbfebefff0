package io.vstore.vdisk.vmdk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The constant header of an SESparse extent (ESXi 6.5+ snapshot deltas), 512 bytes of
 * little-endian u64 fields. Offsets and sizes are in sectors. VMware has not published the
 * format; the fields and the strict values accepted (version 2.1, 4 KiB grains, 32 KiB grain
 * tables, no flags) follow what ESXi logs and qemu accepts.
 *
 * <pre>
 *   0 magic 0xcafebabe   8 version 0x200000001   16 capacity   24 grainSize   32 grainTableSize
 *  40 flags   48..79 reserved (zero)   80 volatileHeaderOffset   88 volatileHeaderSize
 *  96 journalHeaderOffset  104 journalHeaderSize  112 journalOffset  120 journalSize
 * 128 grainDirOffset  136 grainDirSize  144 grainTablesOffset  152 grainTablesSize
 * 160 freeBitmapOffset  168 freeBitmapSize  176 backmapOffset  184 backmapSize
 * 192 grainsOffset  200 grainsSize  208..511 zero
 * </pre>
 *
 * @param version format version
 * @param capacity extent size in sectors
 * @param grainSize grain size in sectors
 * @param grainTableSize one grain table's size in sectors
 * @param flags header flags
 * @param volatileHeaderOffset the volatile header (journal state) in sectors
 * @param grainDirOffset grain directory start
 * @param grainDirSize grain directory size
 * @param grainTablesOffset first grain table
 * @param grainTablesSize space of all grain tables
 * @param grainsOffset first grain
 * @param grainsSize space of all grains
 */
record SeSparseHeader(long version, long capacity, long grainSize, long grainTableSize, long flags, long volatileHeaderOffset,
    long grainDirOffset, long grainDirSize, long grainTablesOffset, long grainTablesSize, long grainsOffset, long grainsSize) {

  /** Constant-header magic. */
  static final long MAGIC = 0xcafebabeL;
  /** Volatile-header magic. */
  static final long VOLATILE_MAGIC = 0xcafecafeL;
  /** The one version accepted: 2.1. */
  static final long VERSION = 0x0000000200000001L;
  /** Size of the constant and of the volatile header. */
  static final int SIZE = 512;

  /** Returns whether the first eight bytes of {@code b} (little-endian) are the magic. */
  static boolean hasMagic(ByteBuffer b) {
    return b.remaining() >= 8 && b.duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong() == MAGIC;
  }

  /** Reads the header from the next 512 bytes of {@code b}; the magic must have been checked. */
  static SeSparseHeader read(ByteBuffer b) {
    ByteBuffer h = b.slice(b.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.position(b.position() + SIZE);
    return new SeSparseHeader(h.getLong(8), h.getLong(16), h.getLong(24), h.getLong(32), h.getLong(40), h.getLong(80),
        h.getLong(128), h.getLong(136), h.getLong(144), h.getLong(152), h.getLong(192), h.getLong(200));
  }

  /** Writes the header (journal, bitmap and backmap fields zero) to the next 512 bytes of {@code b}. */
  void write(ByteBuffer b) {
    ByteBuffer h = b.slice(b.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < SIZE; i += 8) {
      h.putLong(i, 0);
    }
    h.putLong(0, MAGIC).putLong(8, version).putLong(16, capacity).putLong(24, grainSize).putLong(32, grainTableSize)
        .putLong(40, flags).putLong(80, volatileHeaderOffset).putLong(88, 1).putLong(128, grainDirOffset)
        .putLong(136, grainDirSize).putLong(144, grainTablesOffset).putLong(152, grainTablesSize).putLong(192, grainsOffset)
        .putLong(200, grainsSize);
    b.position(b.position() + SIZE);
  }

  /** Writes a clean volatile header (no journal to replay) to the next 512 bytes of {@code b}. */
  static void writeCleanVolatile(ByteBuffer b) {
    ByteBuffer h = b.slice(b.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < SIZE; i += 8) {
      h.putLong(i, 0);
    }
    h.putLong(0, VOLATILE_MAGIC);
    b.position(b.position() + SIZE);
  }
}
