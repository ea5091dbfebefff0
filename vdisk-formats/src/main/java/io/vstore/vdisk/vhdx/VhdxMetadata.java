package io.vstore.vdisk.vhdx;

import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The VHDX metadata region: a table (64 KiB at the region's start) of items, and the items this
 * reader understands. Little-endian.
 *
 * <pre>
 * table:  0 signature "metadata"   8 reserved u16   10 entry count u16 (at most 2047)   12 reserved [20]
 *         32 entries of 32 bytes: item GUID [16], offset u32 (from the region's start, at least
 *            64 KiB), length u32, flags u32 (1 user, 2 virtual disk, 4 required), reserved u32
 * items:  file parameters: block size u32, flags u32 (1 leave blocks allocated, 2 has parent)
 *         virtual disk size u64; page 83 data (virtual disk id) GUID; logical and physical
 *         sector size u32; parent locator: type GUID, reserved u16, count u16, then entries of
 *         key offset u32, value offset u32, key length u16, value length u16 (UTF-16LE strings)
 * </pre>
 *
 * @param blockSize payload block size in bytes
 * @param leaveBlocksAllocated whether blocks must stay allocated (fixed disks)
 * @param hasParent whether this is a differencing disk
 * @param virtualSize the guest-visible size in bytes
 * @param diskId the page 83 data: the virtual disk's identity
 * @param logicalSectorSize 512 or 4096
 * @param physicalSectorSize 512 or 4096
 * @param parentLocator the parent locator's key/value pairs (differencing disks), else empty
 */
record VhdxMetadata(long blockSize, boolean leaveBlocksAllocated, boolean hasParent, long virtualSize, UUID diskId,
    int logicalSectorSize, int physicalSectorSize, Map<String, String> parentLocator) {

  /** Size of the metadata table at the start of the region. */
  static final int TABLE_SIZE = 64 * 1024;
  /** "metadata" as a little-endian u64. */
  static final long SIGNATURE = 0x6174_6164_6174_656DL;
  /** File parameters item. */
  static final UUID FILE_PARAMETERS = UUID.fromString("caa16737-fa36-4d43-b3b6-33f0aa44e76b");
  /** Virtual disk size item. */
  static final UUID VIRTUAL_DISK_SIZE = UUID.fromString("2fa54224-cd1b-4876-b211-5dbed83bf4b8");
  /** Page 83 data item. */
  static final UUID PAGE_83 = UUID.fromString("beca12ab-b2e6-4523-93ef-c309e000c746");
  /** Logical sector size item. */
  static final UUID LOGICAL_SECTOR_SIZE = UUID.fromString("8141bf1d-a96f-4709-ba47-f233a8faab5f");
  /** Physical sector size item. */
  static final UUID PHYSICAL_SECTOR_SIZE = UUID.fromString("cda348c7-445d-4471-9cc9-e9885251c556");
  /** Parent locator item. */
  static final UUID PARENT_LOCATOR = UUID.fromString("a8d35f2d-b30b-454d-abf7-d3d84834ab0c");
  /** The VHDX parent locator type. */
  static final UUID VHDX_LOCATOR_TYPE = UUID.fromString("b04aefb7-d19e-4a81-b789-25b8e9445913");
  /** Largest virtual disk, 64 TiB. */
  static final long MAX_VIRTUAL_SIZE = 64L << 40;
  /** Smallest and largest payload block sizes. */
  static final long MIN_BLOCK_SIZE = 1 << 20;
  static final long MAX_BLOCK_SIZE = 256 << 20;
  /** Largest metadata item, 1 MiB. */
  static final int MAX_ITEM_SIZE = 1 << 20;

  private static final int FLAG_VIRTUAL_DISK = 2;
  private static final int FLAG_REQUIRED = 4;

  public VhdxMetadata {
    parentLocator = Map.copyOf(parentLocator);
  }

  /** Reads and validates the metadata region {@code region} (its whole bytes). */
  static VhdxMetadata read(ByteBuffer region, String where) throws CorruptImageException, UnsupportedFormatException {
    ByteBuffer b = region.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.limit() < TABLE_SIZE || b.getLong(0) != SIGNATURE) {
      throw new CorruptImageException("bad vhdx: " + where + ": metadata table signature is not \"metadata\"");
    }
    int count = Short.toUnsignedInt(b.getShort(10));
    if (count > 2047) {
      throw new CorruptImageException("bad vhdx: " + where + ": metadata table has " + count + " entries (at most 2047)");
    }
    Map<UUID, ByteBuffer> items = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      int at = 32 + i * 32;
      UUID id = MsGuid.read(b, at);
      long offset = Integer.toUnsignedLong(b.getInt(at + 16));
      long length = Integer.toUnsignedLong(b.getInt(at + 20));
      int flags = b.getInt(at + 24);
      boolean known = id.equals(FILE_PARAMETERS) || id.equals(VIRTUAL_DISK_SIZE) || id.equals(PAGE_83)
          || id.equals(LOGICAL_SECTOR_SIZE) || id.equals(PHYSICAL_SECTOR_SIZE) || id.equals(PARENT_LOCATOR);
      if (!known && (flags & FLAG_REQUIRED) != 0) {
        throw new UnsupportedFormatException("unsupported vhdx: " + where + ": required metadata item " + id);
      }
      if (length == 0) {
        continue;
      }
      if (offset < TABLE_SIZE || length > MAX_ITEM_SIZE || offset + length > b.limit()) {
        throw new CorruptImageException("bad vhdx: " + where + ": metadata item " + id + " at offset " + offset
            + " length " + length + " lies outside the metadata region (length " + b.limit() + ")");
      }
      if (items.put(id, b.slice((int) offset, (int) length).order(ByteOrder.LITTLE_ENDIAN)) != null) {
        throw new CorruptImageException("bad vhdx: " + where + ": metadata item " + id + " appears twice");
      }
    }
    ByteBuffer fp = need(items, FILE_PARAMETERS, 8, "file parameters", where);
    long blockSize = Integer.toUnsignedLong(fp.getInt(0));
    int fpFlags = fp.getInt(4);
    if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || Long.bitCount(blockSize) != 1) {
      throw new CorruptImageException("bad vhdx: " + where + ": block size " + blockSize + " is not a power of two from 1 MiB to 256 MiB");
    }
    long size = need(items, VIRTUAL_DISK_SIZE, 8, "virtual disk size", where).getLong(0);
    int logical = need(items, LOGICAL_SECTOR_SIZE, 4, "logical sector size", where).getInt(0);
    int physical = need(items, PHYSICAL_SECTOR_SIZE, 4, "physical sector size", where).getInt(0);
    if (logical != 512 && logical != 4096) {
      throw new CorruptImageException("bad vhdx: " + where + ": logical sector size " + logical + " (512 or 4096)");
    }
    if (physical != 512 && physical != 4096) {
      throw new CorruptImageException("bad vhdx: " + where + ": physical sector size " + physical + " (512 or 4096)");
    }
    if (size <= 0 || size > MAX_VIRTUAL_SIZE || size % logical != 0) {
      throw new CorruptImageException("bad vhdx: " + where + ": virtual disk size " + size
          + " is not a multiple of " + logical + " from 1 to 64 TiB");
    }
    ByteBuffer p83 = items.get(PAGE_83);
    UUID diskId = p83 != null && p83.limit() >= 16 ? MsGuid.read(p83, 0) : MsGuid.ZERO;
    boolean hasParent = (fpFlags & 2) != 0;
    Map<String, String> locator = Map.of();
    if (hasParent) {
      locator = readLocator(need(items, PARENT_LOCATOR, 20, "parent locator", where), where);
    }
    return new VhdxMetadata(blockSize, (fpFlags & 1) != 0, hasParent, size, diskId, logical, physical, locator);
  }

  private static ByteBuffer need(Map<UUID, ByteBuffer> items, UUID id, int min, String name, String where)
      throws CorruptImageException {
    ByteBuffer b = items.get(id);
    if (b == null || b.limit() < min) {
      throw new CorruptImageException("bad vhdx: " + where + ": metadata item " + name + " is missing or shorter than " + min + " bytes");
    }
    return b;
  }

  private static Map<String, String> readLocator(ByteBuffer b, String where) throws CorruptImageException,
      UnsupportedFormatException {
    UUID type = MsGuid.read(b, 0);
    if (!type.equals(VHDX_LOCATOR_TYPE)) {
      throw new UnsupportedFormatException("unsupported vhdx: " + where + ": parent locator type " + type);
    }
    int count = Short.toUnsignedInt(b.getShort(18));
    if (20L + count * 12L > b.limit()) {
      throw new CorruptImageException("bad vhdx: " + where + ": parent locator with " + count + " entries overruns its item");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      int at = 20 + i * 12;
      long ko = Integer.toUnsignedLong(b.getInt(at));
      long vo = Integer.toUnsignedLong(b.getInt(at + 4));
      int kl = Short.toUnsignedInt(b.getShort(at + 8));
      int vl = Short.toUnsignedInt(b.getShort(at + 10));
      if (ko + kl > b.limit() || vo + vl > b.limit()) {
        throw new CorruptImageException("bad vhdx: " + where + ": parent locator entry " + i + " overruns its item");
      }
      out.put(utf16(b, (int) ko, kl), utf16(b, (int) vo, vl));
    }
    return out;
  }

  private static String utf16(ByteBuffer b, int at, int length) {
    byte[] raw = new byte[length];
    b.get(at, raw);
    return new String(raw, StandardCharsets.UTF_16LE);
  }

  /** Returns the whole metadata region (table and items) for a new file, {@code regionLength} long. */
  ByteBuffer toRegion(int regionLength) {
    ByteBuffer b = ByteBuffer.allocate(regionLength).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, SIGNATURE);
    ByteBuffer items = ByteBuffer.allocate(MAX_ITEM_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    int[] count = {0};
    int base = TABLE_SIZE;
    java.util.function.BiConsumer<UUID, byte[]> add = (id, data) -> {
      int at = 32 + count[0] * 32;
      MsGuid.write(b, at, id);
      b.putInt(at + 16, base + items.position());
      b.putInt(at + 20, data.length);
      int flags = id.equals(FILE_PARAMETERS) ? FLAG_REQUIRED : FLAG_REQUIRED | FLAG_VIRTUAL_DISK;
      b.putInt(at + 24, flags);
      items.put(data);
      count[0]++;
    };
    ByteBuffer fp = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    fp.putInt((int) blockSize).putInt((leaveBlocksAllocated ? 1 : 0) | (hasParent ? 2 : 0));
    add.accept(FILE_PARAMETERS, fp.array());
    add.accept(VIRTUAL_DISK_SIZE, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(virtualSize).array());
    ByteBuffer id = ByteBuffer.allocate(16);
    MsGuid.write(id, 0, diskId);
    add.accept(PAGE_83, id.array());
    add.accept(LOGICAL_SECTOR_SIZE, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(logicalSectorSize).array());
    add.accept(PHYSICAL_SECTOR_SIZE, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(physicalSectorSize).array());
    if (hasParent) {
      add.accept(PARENT_LOCATOR, locatorBytes());
    }
    b.putShort(10, (short) count[0]);
    b.put(base, items.array(), 0, items.position());
    return b;
  }

  private byte[] locatorBytes() {
    int n = parentLocator.size();
    ByteBuffer b = ByteBuffer.allocate(MAX_ITEM_SIZE / 16).order(ByteOrder.LITTLE_ENDIAN);
    MsGuid.write(b, 0, VHDX_LOCATOR_TYPE);
    b.putShort(18, (short) n);
    int strings = 20 + n * 12;
    int i = 0;
    for (Map.Entry<String, String> e : parentLocator.entrySet()) {
      byte[] k = e.getKey().getBytes(StandardCharsets.UTF_16LE);
      byte[] v = e.getValue().getBytes(StandardCharsets.UTF_16LE);
      int at = 20 + i * 12;
      b.putInt(at, strings);
      b.put(strings, k);
      strings += k.length;
      b.putInt(at + 4, strings);
      b.put(strings, v);
      strings += v.length;
      b.putShort(at + 8, (short) k.length);
      b.putShort(at + 10, (short) v.length);
      i++;
    }
    byte[] out = new byte[strings];
    b.get(0, out);
    return out;
  }
}
