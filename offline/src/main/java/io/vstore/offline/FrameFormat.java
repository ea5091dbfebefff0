package io.vstore.offline;

/**
 * The frame header of a transfer stream (big-endian, 32 bytes):
 *
 * <pre>
 *  0  u32 magic 'VXF1'
 *  4  u8  type (1 data, 2 zero, 3 end)
 *  5  u8  codec (0 stored, 1 LZ4 block)
 *  6  u16 disk index
 *  8  u64 offset in the disk (end: number of frames before it)
 * 16  u32 length of the range (uncompressed)
 * 20  u32 bytes stored after the header
 * 24  u32 CRC32C of the uncompressed bytes (0 for zero and end frames)
 * 28  u32 CRC32C of header bytes 0..27
 * </pre>
 */
final class FrameFormat {
  static final int MAGIC = 0x56584631;
  static final int HEADER = 32;
  static final byte DATA = 1;
  static final byte ZERO = 2;
  static final byte END = 3;
  static final byte STORED = 0;
  static final byte LZ4 = 1;
  /** The largest range one data frame carries; a reader refuses larger before allocating. */
  public static final int MAX_LENGTH = 4 << 20;
  /** The most disks a stream may name (a VM has at most 64). */
  static final int MAX_DISK = 0xFFFF;

  private FrameFormat() {}
}
