package io.vstore.vdisk.vdi;

import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The VirtualBox VDI header (version 1.1), little-endian, at the start of the file.
 *
 * <pre>
 *    0 banner text [64]        64 signature u32 0xBEDA107F      68 version u32 (0x00010001)
 *   72 header size u32         76 image type u32 (1 dynamic, 2 fixed, 3 undo, 4 differencing)
 *   80 flags u32               84 comment [256]
 *  340 block map offset u32   344 data offset u32
 *  348 legacy geometry: cylinders, heads, sectors, sector size (u32 each)   364 unused u32
 *  368 disk size u64          376 block size u32     380 block extra data u32
 *  384 blocks in image u32    388 blocks allocated u32
 *  392 creation UUID [16]     408 modification UUID [16]
 *  424 linkage (parent) UUID [16]   440 parent modification UUID [16]
 *  456 LCHS geometry: cylinders, heads, sectors, sector size (u32 each), when the header size allows
 * </pre>
 *
 * @param banner the text at the start of the file
 * @param headerSize size of the header from offset 72
 * @param imageType {@link #DYNAMIC} or {@link #FIXED}
 * @param flags image flags
 * @param blockMapOffset file offset of the block map
 * @param dataOffset file offset of the first block
 * @param sectorSize the legacy geometry's sector size (512)
 * @param diskSize the virtual size in bytes
 * @param blockSize bytes per block (1 MiB)
 * @param blockExtra bytes of extra data before each block (0)
 * @param blocks number of blocks in the image
 * @param blocksAllocated number of blocks allocated
 * @param created the creation UUID
 * @param modified the modification UUID
 * @param linkage the parent's UUID (differencing images)
 * @param parentModified the parent's modification UUID
 */
record VdiHeader(String banner, long headerSize, int imageType, int flags, long blockMapOffset, long dataOffset,
    long sectorSize, long diskSize, long blockSize, long blockExtra, long blocks, long blocksAllocated,
    UUID created, UUID modified, UUID linkage, UUID parentModified) {

  /** Bytes the header occupies before the block map (a sector). */
  static final int SIZE = 512;
  /** The VDI signature. */
  static final int SIGNATURE = 0xBEDA_107F;
  /** Version 1.1. */
  static final int VERSION = 0x0001_0001;
  /** Image type of a dynamically allocated image. */
  static final int DYNAMIC = 1;
  /** Image type of a preallocated image. */
  static final int FIXED = 2;
  /** The only block size VirtualBox and qemu write. */
  static final long BLOCK_SIZE = 1 << 20;
  /** Most blocks accepted, as qemu limits them (the block map then stays below 4 GiB). */
  static final long MAX_BLOCKS = 0x3FFF_FFFFL;
  /** Header size VirtualBox writes (including the LCHS geometry). */
  static final int HEADER_SIZE_V11 = 0x190;

  /** Returns whether {@code buf} (a file's head) carries the VDI signature. */
  static boolean hasSignature(ByteBuffer buf) {
    return buf.remaining() >= 72 && buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(buf.position() + 64) == SIGNATURE;
  }

  /** Reads and validates a header from the 512 bytes at {@code buf}'s position. */
  static VdiHeader read(ByteBuffer buf, String where) throws CorruptImageException, UnsupportedFormatException {
    if (buf.remaining() < SIZE) {
      throw new CorruptImageException("bad vdi: " + where + ": header truncated (" + buf.remaining() + " bytes)");
    }
    ByteBuffer b = buf.slice(buf.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(64) != SIGNATURE) {
      throw new CorruptImageException(String.format("not a vdi: %s: signature 0x%08x is not 0xbeda107f", where, b.getInt(64)));
    }
    if (b.getInt(68) != VERSION) {
      throw new UnsupportedFormatException("vdi " + where, Integer.toUnsignedLong(b.getInt(68)), VERSION, VERSION);
    }
    byte[] text = new byte[64];
    b.get(0, text);
    String banner = new String(text, StandardCharsets.ISO_8859_1);
    int nul = banner.indexOf('\0');
    banner = nul >= 0 ? banner.substring(0, nul) : banner;
    return new VdiHeader(banner, u32(b, 72), b.getInt(76), b.getInt(80), u32(b, 340), u32(b, 344), u32(b, 360),
        b.getLong(368), u32(b, 376), u32(b, 380), u32(b, 384), u32(b, 388), uuid(b, 392), uuid(b, 408),
        uuid(b, 424), uuid(b, 440));
  }

  /** Writes the header into 512 bytes at {@code buf}'s position. */
  void write(ByteBuffer buf) {
    ByteBuffer b = buf.slice(buf.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.put(0, new byte[SIZE]);
    byte[] text = banner.getBytes(StandardCharsets.ISO_8859_1);
    b.put(0, text, 0, Math.min(63, text.length));
    b.putInt(64, SIGNATURE);
    b.putInt(68, VERSION);
    b.putInt(72, (int) headerSize);
    b.putInt(76, imageType);
    b.putInt(80, flags);
    b.putInt(340, (int) blockMapOffset);
    b.putInt(344, (int) dataOffset);
    b.putInt(360, (int) sectorSize);
    b.putLong(368, diskSize);
    b.putInt(376, (int) blockSize);
    b.putInt(380, (int) blockExtra);
    b.putInt(384, (int) blocks);
    b.putInt(388, (int) blocksAllocated);
    putUuid(b, 392, created);
    putUuid(b, 408, modified);
    putUuid(b, 424, linkage);
    putUuid(b, 440, parentModified);
  }

  /** Returns the header as a fresh 512-byte buffer ready to write. */
  ByteBuffer toBuffer() {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    write(b);
    return b;
  }

  /** Returns this header with another count of allocated blocks. */
  VdiHeader withBlocksAllocated(long n) {
    return new VdiHeader(banner, headerSize, imageType, flags, blockMapOffset, dataOffset, sectorSize, diskSize,
        blockSize, blockExtra, blocks, n, created, modified, linkage, parentModified);
  }

  private static long u32(ByteBuffer b, int at) {
    return Integer.toUnsignedLong(b.getInt(at));
  }

  // VirtualBox stores UUIDs in the Microsoft GUID layout (first three fields little-endian).
  private static UUID uuid(ByteBuffer b, int at) {
    long d1 = Integer.toUnsignedLong(b.getInt(at));
    long d2 = Short.toUnsignedLong(b.getShort(at + 4));
    long d3 = Short.toUnsignedLong(b.getShort(at + 6));
    long d4 = b.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(at + 8);
    return new UUID(d1 << 32 | d2 << 16 | d3, d4);
  }

  private static void putUuid(ByteBuffer b, int at, UUID u) {
    long msb = u.getMostSignificantBits();
    b.putInt(at, (int) (msb >>> 32));
    b.putShort(at + 4, (short) (msb >>> 16));
    b.putShort(at + 6, (short) msb);
    b.duplicate().order(ByteOrder.BIG_ENDIAN).putLong(at + 8, u.getLeastSignificantBits());
  }
}
