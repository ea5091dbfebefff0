package io.vstore.vdisk.vhd;

import io.vstore.vdisk.CorruptImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * The 1024-byte dynamic disk header of dynamic and differencing VHDs, big-endian.
 *
 * <pre>
 *    0  cookie "cxsparse"          8 data offset u64 (unused, all ones)
 *   16  BAT offset u64            24 header version u32 (0x00010000)
 *   28  max table entries u32     32 block size u32     36 checksum u32
 *   40  parent unique id [16]     56 parent timestamp u32      60 reserved u32
 *   64  parent unicode name [512] (UTF-16BE, NUL padded)
 *  576  8 parent locator entries of 24 bytes:
 *         platform code [4], platform data space u32, platform data length u32,
 *         reserved u32, platform data offset u64
 *  768  reserved [256]
 * </pre>
 *
 * @param tableOffset file offset of the block allocation table
 * @param maxTableEntries number of BAT entries
 * @param blockSize bytes of guest data per block (a power of two)
 * @param checksum the stored checksum
 * @param parentUuid the parent's footer unique id (differencing disks)
 * @param parentTimestamp the parent's modification time (differencing disks)
 * @param parentName the parent's file name (differencing disks), or empty
 * @param locators the parent locator entries in use
 */
record VhdDynamicHeader(
    long tableOffset,
    long maxTableEntries,
    long blockSize,
    long checksum,
    UUID parentUuid,
    long parentTimestamp,
    String parentName,
    List<ParentLocator> locators) {

  /** Size of the header in bytes. */
  static final int SIZE = 1024;
  /** Cookie at the start of the header. */
  static final byte[] COOKIE = "cxsparse".getBytes(StandardCharsets.US_ASCII);
  /** Header version 1.0. */
  static final int VERSION = 0x0001_0000;
  /** Default block size, 2 MiB, as Virtual PC, Hyper-V and qemu use. */
  static final int DEFAULT_BLOCK_SIZE = 2 << 20;
  /** Largest block size accepted: larger blocks would make per-block buffers unreasonable. */
  static final long MAX_BLOCK_SIZE = 256L << 20;
  /** Number of parent locator slots. */
  static final int LOCATOR_SLOTS = 8;

  private static final int CHECKSUM_OFFSET = 36;
  private static final int PARENT_NAME_OFFSET = 64;
  private static final int PARENT_NAME_SIZE = 512;
  private static final int LOCATOR_OFFSET = 576;
  private static final int LOCATOR_SIZE = 24;

  public VhdDynamicHeader {
    locators = List.copyOf(locators);
  }

  /**
   * A parent locator: where the parent's path is stored and in which form.
   *
   * @param platformCode {@link #W2KU}, {@link #W2RU}, {@link #MACX} or another code
   * @param dataSpace space reserved for the data (bytes, or sectors as older writers record)
   * @param dataLength length of the path data in bytes
   * @param dataOffset file offset of the path data
   */
  record ParentLocator(int platformCode, long dataSpace, long dataLength, long dataOffset) {
    /** Absolute Windows path in UTF-16LE. */
    static final int W2KU = 0x5732_6B75;
    /** Relative Windows path in UTF-16LE. */
    static final int W2RU = 0x5732_7275;
    /** Mac OS X file URL in UTF-8. */
    static final int MACX = 0x4D61_6358;
    /** Largest path data accepted, far beyond any real path. */
    static final int MAX_DATA_LENGTH = 64 * 1024;

    /** Returns the platform code as its four ASCII characters. */
    String codeName() {
      byte[] b = ByteBuffer.allocate(4).putInt(platformCode).array();
      return new String(b, StandardCharsets.ISO_8859_1);
    }
  }

  /**
   * Reads a header from the 1024 bytes at {@code buf}'s position (advanced), validating cookie and
   * block size; the checksum is verified by {@link #verifyChecksum}.
   */
  static VhdDynamicHeader read(ByteBuffer buf, String where) throws CorruptImageException {
    if (buf.remaining() < SIZE) {
      throw new CorruptImageException("bad vpc: " + where + ": dynamic header truncated (" + buf.remaining() + " bytes)");
    }
    ByteBuffer b = buf.slice(buf.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    buf.position(buf.position() + SIZE);
    byte[] cookie = new byte[8];
    b.get(0, cookie);
    if (!Arrays.equals(cookie, COOKIE)) {
      throw new CorruptImageException("bad vpc: " + where + ": dynamic header cookie is not \"cxsparse\"");
    }
    long stored = Integer.toUnsignedLong(b.getInt(CHECKSUM_OFFSET));
    long blockSize = Integer.toUnsignedLong(b.getInt(32));
    if (blockSize < 512 || Long.bitCount(blockSize) != 1 || blockSize > MAX_BLOCK_SIZE) {
      throw new CorruptImageException("bad vpc: " + where + ": invalid block size " + blockSize
          + " (a power of two from 512 to " + MAX_BLOCK_SIZE + ")");
    }
    long tableOffset = b.getLong(16);
    if (tableOffset < 0) {
      throw new CorruptImageException("bad vpc: " + where + ": BAT offset " + Long.toUnsignedString(tableOffset) + " is negative");
    }
    byte[] name = new byte[PARENT_NAME_SIZE];
    b.get(PARENT_NAME_OFFSET, name);
    String parentName = new String(name, StandardCharsets.UTF_16BE);
    int nul = parentName.indexOf('\0');
    if (nul >= 0) {
      parentName = parentName.substring(0, nul);
    }
    List<ParentLocator> locators = new ArrayList<>();
    for (int i = 0; i < LOCATOR_SLOTS; i++) {
      int at = LOCATOR_OFFSET + i * LOCATOR_SIZE;
      int code = b.getInt(at);
      if (code != 0) {
        locators.add(new ParentLocator(code, Integer.toUnsignedLong(b.getInt(at + 4)),
            Integer.toUnsignedLong(b.getInt(at + 8)), b.getLong(at + 16)));
      }
    }
    return new VhdDynamicHeader(tableOffset, Integer.toUnsignedLong(b.getInt(28)), blockSize, stored,
        new UUID(b.getLong(40), b.getLong(48)), Integer.toUnsignedLong(b.getInt(56)), parentName, locators);
  }

  /**
   * Verifies the checksum of the 1024 header bytes at {@code buf}'s position. Kept apart from
   * {@link #read} so that a caller can report a more telling structural problem first, as qemu does.
   */
  static void verifyChecksum(ByteBuffer buf, String where) throws CorruptImageException {
    ByteBuffer b = buf.slice(buf.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    long stored = Integer.toUnsignedLong(b.getInt(CHECKSUM_OFFSET));
    long computed = VhdFooter.checksum(b, CHECKSUM_OFFSET);
    if (stored != computed) {
      throw new CorruptImageException(String.format(
          "bad vpc: %s: dynamic header checksum 0x%08x, computed 0x%08x", where, stored, computed));
    }
  }

  /** Writes the header with a freshly computed checksum into 1024 bytes at {@code buf}'s position. */
  void write(ByteBuffer buf) {
    ByteBuffer b = buf.slice(buf.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    buf.position(buf.position() + SIZE);
    b.put(0, new byte[SIZE]);
    b.put(0, COOKIE);
    b.putLong(8, -1L);
    b.putLong(16, tableOffset);
    b.putInt(24, VERSION);
    b.putInt(28, (int) maxTableEntries);
    b.putInt(32, (int) blockSize);
    b.putLong(40, parentUuid.getMostSignificantBits());
    b.putLong(48, parentUuid.getLeastSignificantBits());
    b.putInt(56, (int) parentTimestamp);
    byte[] name = parentName.getBytes(StandardCharsets.UTF_16BE);
    b.put(PARENT_NAME_OFFSET, name, 0, Math.min(name.length, PARENT_NAME_SIZE));
    for (int i = 0; i < locators.size() && i < LOCATOR_SLOTS; i++) {
      ParentLocator l = locators.get(i);
      int at = LOCATOR_OFFSET + i * LOCATOR_SIZE;
      b.putInt(at, l.platformCode());
      b.putInt(at + 4, (int) l.dataSpace());
      b.putInt(at + 8, (int) l.dataLength());
      b.putLong(at + 16, l.dataOffset());
    }
    b.putInt(CHECKSUM_OFFSET, (int) VhdFooter.checksum(b, CHECKSUM_OFFSET));
  }

  /** Returns the header as a fresh 1024-byte buffer ready to write. */
  ByteBuffer toBuffer() {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    write(b);
    return b.flip();
  }

  /** Returns the size in bytes of a block's sector bitmap: one bit per sector, padded to 512. */
  long bitmapSize() {
    return (blockSize / 512 / 8 + 511) / 512 * 512;
  }
}
