package io.vstore.vdisk.vhd;

import io.vstore.vdisk.CorruptImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

/**
 * The 512-byte VHD footer (hard disk footer), big-endian, at the end of every VHD file and, for
 * dynamic and differencing disks, copied at offset 0.
 *
 * <pre>
 *   0  cookie "conectix"      8 features u32      12 format version u32 (0x00010000)
 *  16  data offset u64 (dynamic header; all ones for fixed)
 *  24  timestamp u32 (seconds since 2000-01-01 UTC)     28 creator application [4]
 *  32  creator version u32    36 creator host OS [4]
 *  40  original size u64      48 current size u64
 *  56  cylinders u16  58 heads u8  59 sectors per track u8
 *  60  disk type u32 (2 fixed, 3 dynamic, 4 differencing)     64 checksum u32
 *  68  unique id [16]         84 saved state u8     85 reserved [427]
 * </pre>
 *
 * @param dataOffset file offset of the dynamic disk header, or -1 for fixed disks
 * @param timestamp creation time in seconds since 2000-01-01 UTC
 * @param creatorApp four ASCII characters naming the creating application
 * @param creatorVersion creating application's version
 * @param creatorOs four ASCII characters naming the host OS
 * @param originalSize size at creation in bytes
 * @param currentSize current size in bytes
 * @param geometry the CHS geometry
 * @param diskType {@link #FIXED}, {@link #DYNAMIC} or {@link #DIFFERENCING}
 * @param checksum the stored checksum
 * @param uuid the disk's unique id (a child's parent UUID refers to it)
 * @param savedState whether the disk is in a saved state
 */
record VhdFooter(
    long dataOffset,
    long timestamp,
    String creatorApp,
    long creatorVersion,
    String creatorOs,
    long originalSize,
    long currentSize,
    Geometry geometry,
    int diskType,
    long checksum,
    UUID uuid,
    boolean savedState) {

  /** Size of the footer in bytes. */
  static final int SIZE = 512;
  /** Cookie at the start of the footer. */
  static final byte[] COOKIE = "conectix".getBytes(StandardCharsets.US_ASCII);
  /** Disk type of a fixed disk. */
  static final int FIXED = 2;
  /** Disk type of a dynamic disk. */
  static final int DYNAMIC = 3;
  /** Disk type of a differencing disk. */
  static final int DIFFERENCING = 4;
  /** Features field value every VHD carries (the "reserved" bit). */
  static final int FEATURES = 2;
  /** Format version 1.0. */
  static final int VERSION = 0x0001_0000;
  /** Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC. */
  static final long EPOCH_OFFSET = 946_684_800L;

  private static final int CHECKSUM_OFFSET = 64;

  /** A cylinders/heads/sectors-per-track triple. */
  record Geometry(int cylinders, int heads, int sectorsPerTrack) {
    /** The largest geometry a VHD can record, 65535/16/255. */
    static final long MAX_SECTORS = 65535L * 16 * 255;

    /** Returns the number of sectors the geometry addresses. */
    long sectors() {
      return (long) cylinders * heads * sectorsPerTrack;
    }

    /**
     * Returns the geometry for {@code totalSectors} by the algorithm of the VHD specification
     * (appendix "CHS calculation"), which Virtual PC and qemu share.
     */
    static Geometry forSectors(long totalSectors) {
      long total = Math.min(totalSectors, MAX_SECTORS);
      int sectors;
      int heads;
      long cylTimesHeads;
      if (total >= 65535L * 16 * 63) {
        sectors = 255;
        heads = 16;
        cylTimesHeads = total / sectors;
      } else {
        sectors = 17;
        cylTimesHeads = total / sectors;
        heads = (int) Math.max(4, (cylTimesHeads + 1023) / 1024);
        if (cylTimesHeads >= heads * 1024L || heads > 16) {
          sectors = 31;
          heads = 16;
          cylTimesHeads = total / sectors;
        }
        if (cylTimesHeads >= heads * 1024L) {
          sectors = 63;
          heads = 16;
          cylTimesHeads = total / sectors;
        }
      }
      return new Geometry((int) (cylTimesHeads / heads), heads, sectors);
    }

    /**
     * Returns the smallest geometry that addresses at least {@code totalSectors} (rounding up, as
     * qemu does when creating so that a conversion never truncates), or the maximum geometry.
     */
    static Geometry roundingUp(long totalSectors) {
      Geometry g = forSectors(totalSectors);
      for (long extra = 1; g.sectors() < totalSectors && g.sectors() < MAX_SECTORS; extra++) {
        g = forSectors(totalSectors + extra);
      }
      return g;
    }
  }

  /** Returns whether {@code buf} at its position starts with the footer cookie. */
  static boolean hasCookie(ByteBuffer buf) {
    if (buf.remaining() < COOKIE.length) {
      return false;
    }
    byte[] b = new byte[COOKIE.length];
    buf.get(buf.position(), b);
    return Arrays.equals(b, COOKIE);
  }

  /**
   * Reads a footer from the 512 bytes at {@code buf}'s position (which is advanced), verifying the
   * cookie and checksum; {@code where} names the file and offset for errors.
   */
  static VhdFooter read(ByteBuffer buf, String where) throws CorruptImageException {
    if (buf.remaining() < SIZE) {
      throw new CorruptImageException("bad vpc: " + where + ": footer truncated (" + buf.remaining() + " bytes)");
    }
    ByteBuffer b = buf.slice(buf.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    buf.position(buf.position() + SIZE);
    if (!hasCookie(b)) {
      throw new CorruptImageException("bad vpc: " + where + ": footer cookie is not \"conectix\"");
    }
    long stored = Integer.toUnsignedLong(b.getInt(CHECKSUM_OFFSET));
    long computed = checksum(b, CHECKSUM_OFFSET);
    if (stored != computed) {
      throw new CorruptImageException(String.format(
          "bad vpc: %s: footer checksum 0x%08x, computed 0x%08x", where, stored, computed));
    }
    int type = b.getInt(60);
    if (type != FIXED && type != DYNAMIC && type != DIFFERENCING) {
      throw new CorruptImageException("bad vpc: " + where + ": unknown disk type " + type);
    }
    long currentSize = b.getLong(48);
    if (currentSize < 0) {
      throw new CorruptImageException("bad vpc: " + where + ": current size " + Long.toUnsignedString(currentSize) + " is negative");
    }
    return new VhdFooter(
        b.getLong(16),
        Integer.toUnsignedLong(b.getInt(24)),
        ascii(b, 28),
        Integer.toUnsignedLong(b.getInt(32)),
        ascii(b, 36),
        b.getLong(40),
        currentSize,
        new Geometry(Short.toUnsignedInt(b.getShort(56)), Byte.toUnsignedInt(b.get(58)), Byte.toUnsignedInt(b.get(59))),
        type,
        stored,
        new UUID(b.getLong(68), b.getLong(76)),
        b.get(84) != 0);
  }

  /** Writes the footer with a freshly computed checksum into 512 bytes at {@code buf}'s position. */
  void write(ByteBuffer buf) {
    ByteBuffer b = buf.slice(buf.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    buf.position(buf.position() + SIZE);
    b.put(0, new byte[SIZE]);
    b.put(0, COOKIE);
    b.putInt(8, FEATURES);
    b.putInt(12, VERSION);
    b.putLong(16, dataOffset);
    b.putInt(24, (int) timestamp);
    b.put(28, asciiBytes(creatorApp));
    b.putInt(32, (int) creatorVersion);
    b.put(36, asciiBytes(creatorOs));
    b.putLong(40, originalSize);
    b.putLong(48, currentSize);
    b.putShort(56, (short) geometry.cylinders());
    b.put(58, (byte) geometry.heads());
    b.put(59, (byte) geometry.sectorsPerTrack());
    b.putInt(60, diskType);
    b.putLong(68, uuid.getMostSignificantBits());
    b.putLong(76, uuid.getLeastSignificantBits());
    b.put(84, (byte) (savedState ? 1 : 0));
    b.putInt(CHECKSUM_OFFSET, (int) checksum(b, CHECKSUM_OFFSET));
  }

  /** Returns the footer as a fresh 512-byte buffer ready to write. */
  ByteBuffer toBuffer() {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    write(b);
    return b.flip();
  }

  /** Returns whether this disk stores its blocks through a BAT (dynamic or differencing). */
  boolean isSparse() {
    return diskType != FIXED;
  }

  /**
   * Returns the guest-visible size as qemu computes it: the CHS geometry's size, except for
   * creators known to use the footer's current size (Hyper-V "win ", qemu "qem2", Disk2vhd "d2v ",
   * XenServer "tap\0", XenConverter "CTXS") and for disks whose geometry is the maximum one, where
   * the geometry would truncate the disk.
   */
  long virtualSize() {
    boolean useCurrentSize = switch (creatorApp) {
      case "win ", "qem2", "d2v ", "tap\0", "CTXS" -> true;
      default -> false;
    };
    if (useCurrentSize || geometry.sectors() == Geometry.MAX_SECTORS) {
      return currentSize / 512 * 512;
    }
    return geometry.sectors() * 512;
  }

  /** Returns the one's complement of the byte sum of the structure, skipping its checksum field. */
  static long checksum(ByteBuffer b, int checksumOffset) {
    int sum = 0;
    for (int i = 0; i < b.limit(); i++) {
      if (i < checksumOffset || i >= checksumOffset + 4) {
        sum += b.get(i) & 0xff;
      }
    }
    return Integer.toUnsignedLong(~sum);
  }

  /** Returns the current time in VHD timestamp units. */
  static long now() {
    return System.currentTimeMillis() / 1000 - EPOCH_OFFSET;
  }

  private static String ascii(ByteBuffer b, int at) {
    byte[] raw = new byte[4];
    b.get(at, raw);
    return new String(raw, StandardCharsets.ISO_8859_1);
  }

  private static byte[] asciiBytes(String s) {
    byte[] raw = new byte[4];
    byte[] src = s.getBytes(StandardCharsets.ISO_8859_1);
    System.arraycopy(src, 0, raw, 0, Math.min(4, src.length));
    return raw;
  }
}
