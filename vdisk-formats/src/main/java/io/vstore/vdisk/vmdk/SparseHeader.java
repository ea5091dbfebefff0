package io.vstore.vdisk.vmdk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 512-byte header of a hosted sparse extent ("KDMV"), little-endian; also the footer of a
 * streamOptimized extent.
 *
 * <pre>
 *   0 u32 magic 'KDMV'          4 u32 version (1..3)        8 u32 flags
 *  12 u64 capacity (sectors)   20 u64 grainSize (sectors)
 *  28 u64 descriptorOffset     36 u64 descriptorSize (sectors)
 *  44 u32 numGTEsPerGT         48 u64 rgdOffset            56 u64 gdOffset (-1: in footer)
 *  64 u64 overHead (sectors)   72 u8 uncleanShutdown
 *  73 '\n' 74 ' ' 75 '\r' 76 '\n' (newline-corruption check)  77 u16 compressAlgorithm
 *  79..511 zero
 * </pre>
 */
record SparseHeader(
    int version, int flags, long capacity, long grainSize, long descriptorOffset, long descriptorSize,
    int numGtesPerGt, long rgdOffset, long gdOffset, long overhead, boolean uncleanShutdown, int compressAlgorithm) {

  /** "KDMV" read as a little-endian u32. */
  static final int MAGIC = 0x564d444b;
  /** Size of the header (and footer) on disk. */
  static final int SIZE = 512;
  /** Flag: the newline characters at 73..76 are valid. */
  static final int FLAG_NL_DETECT = 1;
  /** Flag: a redundant grain directory exists at rgdOffset. */
  static final int FLAG_RGD = 1 << 1;
  /** Flag: grain table entry 1 means "a grain of zeros". */
  static final int FLAG_ZERO_GRAIN = 1 << 2;
  /** Flag: grains are compressed. */
  static final int FLAG_COMPRESSED = 1 << 16;
  /** Flag: the stream has markers (streamOptimized). */
  static final int FLAG_MARKERS = 1 << 17;
  /** gdOffset value meaning "the grain directory offset is in the footer". */
  static final long GD_AT_END = -1L;
  /** compressAlgorithm value for deflate (zlib). */
  static final int COMPRESS_DEFLATE = 1;

  /** Returns whether the first four bytes of {@code b} (little-endian) are the magic. */
  static boolean hasMagic(ByteBuffer b) {
    return b.remaining() >= 4 && b.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt() == MAGIC;
  }

  /** Reads a header from the next 512 bytes of {@code b}; the magic must have been checked. */
  static SparseHeader read(ByteBuffer b) {
    ByteBuffer h = b.slice(b.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.position(b.position() + SIZE);
    return new SparseHeader(
        h.getInt(4), h.getInt(8), h.getLong(12), h.getLong(20), h.getLong(28), h.getLong(36), h.getInt(44),
        h.getLong(48), h.getLong(56), h.getLong(64), h.get(72) != 0, Short.toUnsignedInt(h.getShort(77)));
  }

  /** Writes the header to the next 512 bytes of {@code b}. */
  void write(ByteBuffer b) {
    ByteBuffer h = b.slice(b.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < SIZE; i++) {
      h.put(i, (byte) 0);
    }
    h.putInt(0, MAGIC).putInt(4, version).putInt(8, flags).putLong(12, capacity).putLong(20, grainSize)
        .putLong(28, descriptorOffset).putLong(36, descriptorSize).putInt(44, numGtesPerGt).putLong(48, rgdOffset)
        .putLong(56, gdOffset).putLong(64, overhead).put(72, (byte) (uncleanShutdown ? 1 : 0));
    h.put(73, (byte) '\n').put(74, (byte) ' ').put(75, (byte) '\r').put(76, (byte) '\n');
    h.putShort(77, (short) compressAlgorithm);
    b.position(b.position() + SIZE);
  }

  /** Returns whether grains are compressed. */
  boolean compressed() {
    return (flags & FLAG_COMPRESSED) != 0;
  }

  /** Returns whether grains carry markers. */
  boolean markers() {
    return (flags & FLAG_MARKERS) != 0;
  }

  /** Returns whether grain table entry 1 means a zero grain. */
  boolean zeroGrain() {
    return (flags & FLAG_ZERO_GRAIN) != 0;
  }

  /** Returns whether a redundant grain directory is recorded. */
  boolean redundant() {
    return (flags & FLAG_RGD) != 0 && rgdOffset != 0;
  }

  /** Returns a copy with another grain directory offset (for the streamOptimized footer). */
  SparseHeader withGdOffset(long newGdOffset) {
    return new SparseHeader(version, flags, capacity, grainSize, descriptorOffset, descriptorSize, numGtesPerGt,
        rgdOffset, newGdOffset, overhead, uncleanShutdown, compressAlgorithm);
  }
}
