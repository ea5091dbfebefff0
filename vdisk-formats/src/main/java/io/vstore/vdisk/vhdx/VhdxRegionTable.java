package io.vstore.vdisk.vhdx;

import io.vstore.vdisk.CorruptImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The 64 KiB VHDX region table (copies at 192 KiB and 256 KiB), little-endian.
 *
 * <pre>
 *   0 signature "regi"   4 CRC32C of the 64 KiB   8 entry count u32 (at most 2047)   12 reserved
 *  16 entries of 32 bytes: GUID [16], file offset u64, length u32, flags u32 (bit 0: required)
 * </pre>
 *
 * @param entries the regions
 */
record VhdxRegionTable(List<Region> entries) {
  /** Size of the table in bytes. */
  static final int SIZE = 64 * 1024;
  /** File offset of the first copy. */
  static final long OFFSET_1 = 192 * 1024;
  /** File offset of the second copy. */
  static final long OFFSET_2 = 256 * 1024;
  /** "regi" as a little-endian u32. */
  static final int SIGNATURE = 0x6967_6572;
  /** The BAT region. */
  static final UUID BAT = UUID.fromString("2dc27766-f623-4200-9d64-115e9bfd4a08");
  /** The metadata region. */
  static final UUID METADATA = UUID.fromString("8b7ca206-4790-4b9a-b8fe-575f050f886e");
  /** Most entries the table may hold. */
  static final int MAX_ENTRIES = 2047;
  /** Regions start and end on 1 MiB boundaries. */
  static final long ALIGNMENT = 1 << 20;

  public VhdxRegionTable {
    entries = List.copyOf(entries);
  }

  /**
   * One region.
   *
   * @param guid what the region holds
   * @param offset file offset
   * @param length length in bytes
   * @param required whether a reader must understand the region to open the file
   */
  record Region(UUID guid, long offset, long length, boolean required) {
    /** Returns the first byte after the region. */
    long end() {
      return offset + length;
    }
  }

  /** Reads and verifies a region table from the 64 KiB at {@code buf}'s position. */
  static VhdxRegionTable read(ByteBuffer buf, String where) throws CorruptImageException {
    ByteBuffer b = VhdxHeader.Checksums.signed(buf, SIZE, SIGNATURE, "region table", "regi", where);
    long count = Integer.toUnsignedLong(b.getInt(8));
    if (count > MAX_ENTRIES) {
      throw new CorruptImageException("bad vhdx: " + where + ": region table has " + count + " entries (at most " + MAX_ENTRIES + ")");
    }
    List<Region> regions = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int at = 16 + i * 32;
      regions.add(new Region(MsGuid.read(b, at), b.getLong(at + 16), Integer.toUnsignedLong(b.getInt(at + 24)),
          (b.getInt(at + 28) & 1) != 0));
    }
    return new VhdxRegionTable(regions);
  }

  /** Writes the table with a fresh checksum into 64 KiB at {@code buf}'s position. */
  void write(ByteBuffer buf) {
    ByteBuffer b = buf.slice(buf.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.put(0, new byte[SIZE]);
    b.putInt(0, SIGNATURE);
    b.putInt(8, entries.size());
    for (int i = 0; i < entries.size(); i++) {
      Region r = entries.get(i);
      int at = 16 + i * 32;
      MsGuid.write(b, at, r.guid());
      b.putLong(at + 16, r.offset());
      b.putInt(at + 24, (int) r.length());
      b.putInt(at + 28, r.required() ? 1 : 0);
    }
    VhdxHeader.Checksums.store(b, 4);
  }

  /** Returns the region with {@code guid}, or null. */
  Region find(UUID guid) {
    for (Region r : entries) {
      if (r.guid().equals(guid)) {
        return r;
      }
    }
    return null;
  }
}
