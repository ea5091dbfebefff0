package io.vstore.vdisk.vhdx;

import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.CorruptImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * One of the two 4 KiB VHDX headers (at 64 KiB and 128 KiB), little-endian; the valid one with
 * the higher sequence number is current.
 *
 * <pre>
 *   0 signature "head"   4 CRC32C of the 4 KiB with this field zero   8 sequence number u64
 *  16 file write GUID   32 data write GUID   48 log GUID (zero: no log to replay)
 *  64 log version u16 (0)   66 version u16 (1)   68 log length u32   72 log offset u64
 * </pre>
 *
 * @param sequence the sequence number
 * @param fileWriteGuid changed before the first write to the file in a session
 * @param dataWriteGuid changed before the first change of guest-visible data
 * @param logGuid the GUID of the log's entries, or zero when the log is empty
 * @param logVersion the log format version (0)
 * @param version the file format version (1)
 * @param logLength the log's length in bytes (a multiple of 1 MiB)
 * @param logOffset the log's file offset (a multiple of 1 MiB)
 */
record VhdxHeader(long sequence, UUID fileWriteGuid, UUID dataWriteGuid, UUID logGuid, int logVersion, int version,
    long logLength, long logOffset) {

  /** Size of a header in bytes (the checksum covers all of it). */
  static final int SIZE = 4096;
  /** File offset of the first header. */
  static final long OFFSET_1 = 64 * 1024;
  /** File offset of the second header. */
  static final long OFFSET_2 = 128 * 1024;
  /** "head" read as a little-endian u32. */
  static final int SIGNATURE = 0x6461_6568;
  /** The only file format version. */
  static final int VERSION = 1;

  /** Reads and verifies a header from the 4 KiB at {@code buf}'s position. */
  static VhdxHeader read(ByteBuffer buf, String where) throws CorruptImageException {
    ByteBuffer b = Checksums.signed(buf, SIZE, SIGNATURE, "header", "head", where);
    return new VhdxHeader(b.getLong(8), MsGuid.read(b, 16), MsGuid.read(b, 32), MsGuid.read(b, 48),
        Short.toUnsignedInt(b.getShort(64)), Short.toUnsignedInt(b.getShort(66)),
        Integer.toUnsignedLong(b.getInt(68)), b.getLong(72));
  }

  /** Writes the header with a fresh checksum into 4 KiB at {@code buf}'s position. */
  void write(ByteBuffer buf) {
    ByteBuffer b = buf.slice(buf.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.put(0, new byte[SIZE]);
    b.putInt(0, SIGNATURE);
    b.putLong(8, sequence);
    MsGuid.write(b, 16, fileWriteGuid);
    MsGuid.write(b, 32, dataWriteGuid);
    MsGuid.write(b, 48, logGuid);
    b.putShort(64, (short) logVersion);
    b.putShort(66, (short) version);
    b.putInt(68, (int) logLength);
    b.putLong(72, logOffset);
    Checksums.store(b, 4);
  }

  /** Returns the header as a fresh 4 KiB buffer ready to write. */
  ByteBuffer toBuffer() {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    write(b);
    return b;
  }

  /** Returns this header with another sequence number and GUIDs. */
  VhdxHeader with(long newSequence, UUID fileWrite, UUID dataWrite, UUID log) {
    return new VhdxHeader(newSequence, fileWrite, dataWrite, log, logVersion, version, logLength, logOffset);
  }

  /**
   * Writes both headers with new sequence numbers and write GUIDs, the non-current slot first and
   * each synced, so that a valid header exists at every moment; returns the new current header,
   * which ends up in {@code slot} again.
   */
  static VhdxHeader writeBoth(java.nio.channels.FileChannel ch, VhdxHeader current, int slot, UUID logGuid)
      throws java.io.IOException {
    UUID fileWrite = UUID.randomUUID();
    UUID dataWrite = UUID.randomUUID();
    VhdxHeader h = current;
    for (int i = 0; i < 2; i++) {
      int target = i == 0 ? 1 - slot : slot;
      h = h.with(h.sequence() + 1, fileWrite, dataWrite, logGuid);
      FileContent.writeFully(ch, target == 0 ? OFFSET_1 : OFFSET_2, h.toBuffer());
      ch.force(false);
    }
    return h;
  }

  /** CRC32C of VHDX structures, computed with the checksum field zeroed. */
  static final class Checksums {
    private Checksums() {}

    /** Returns the CRC32C of {@code b} (position 0 to limit) as if the u32 at {@code field} were zero. */
    static int compute(ByteBuffer b, int field) {
      CRC32C crc = new CRC32C();
      ByteBuffer d = b.duplicate().clear();
      d.limit(field);
      crc.update(d);
      crc.update(new byte[4]);
      d.limit(b.limit()).position(field + 4);
      crc.update(d);
      return (int) crc.getValue();
    }

    /** Throws unless the stored checksum at {@code field} matches. */
    static void verify(ByteBuffer b, int field, String structure, String where) throws CorruptImageException {
      int stored = b.order(ByteOrder.LITTLE_ENDIAN).getInt(field);
      int computed = compute(b, field);
      if (stored != computed) {
        throw new CorruptImageException(String.format("bad vhdx: %s: %s checksum 0x%08x, computed 0x%08x",
            where, structure, stored, computed));
      }
    }

    /**
     * Returns the {@code size} bytes at {@code buf}'s position, little-endian, after checking that
     * they are all there, start with {@code signature} (the u32 of the four letters {@code name})
     * and carry a matching checksum at offset 4, as every signed VHDX structure does.
     */
    static ByteBuffer signed(ByteBuffer buf, int size, int signature, String structure, String name, String where)
        throws CorruptImageException {
      if (buf.remaining() < size) {
        throw new CorruptImageException("bad vhdx: " + where + ": " + structure + " truncated");
      }
      ByteBuffer b = buf.slice(buf.position(), size).order(ByteOrder.LITTLE_ENDIAN);
      if (b.getInt(0) != signature) {
        throw new CorruptImageException(String.format("bad vhdx: %s: %s signature 0x%08x is not \"%s\"", where, structure,
            b.getInt(0), name));
      }
      verify(b, 4, structure, where);
      return b;
    }

    /** Computes and stores the checksum at {@code field}. */
    static void store(ByteBuffer b, int field) {
      b.order(ByteOrder.LITTLE_ENDIAN).putInt(field, 0);
      b.putInt(field, compute(b, field));
    }
  }
}
