package io.vstore.vdisk.vhdx;

import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.FileBackedFormat;
import io.vstore.vdisk.ImageProbe;
import io.vstore.vdisk.UnsupportedFormatException;
import io.vstore.vdisk.vhdx.VhdxRegionTable.Region;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** The VHDX format (Hyper-V): fixed, dynamic and differencing disks. */
public final class VhdxFormat extends FileBackedFormat {
  /** The format's name as qemu-img spells it. */
  static final String NAME = "vhdx";
  /** "vhdxfile" at offset 0. */
  static final byte[] FILE_SIGNATURE = "vhdxfile".getBytes(StandardCharsets.US_ASCII);
  /** The header section (file identifier, headers, region tables) spans the first 1 MiB. */
  static final long HEADER_SECTION = 1 << 20;
  /** Largest metadata region read into memory. */
  static final long MAX_METADATA_REGION = 64L << 20;

  private static final long MIB = 1 << 20;
  private static final Set<String> OPTIONS = Set.of("cache", "subformat", "block_size", "log_size", "block_state_zero");

  /** Creates the format; it is stateless. */
  public VhdxFormat() {
    this(ImageFiles.PLATFORM);
  }

  /** Creates the format on files opened through {@code files} (crash tests pass failing ones). */
  public VhdxFormat(ImageFiles files) {
    super(NAME, files);
  }

  @Override
  public boolean probe(ImageProbe probe) {
    ByteBuffer h = probe.head();
    if (h.remaining() < FILE_SIGNATURE.length) {
      return false;
    }
    byte[] b = new byte[FILE_SIGNATURE.length];
    h.get(h.position(), b);
    return java.util.Arrays.equals(b, FILE_SIGNATURE);
  }

  /** The validated structures of a VHDX file. */
  record Layout(VhdxHeader header, int headerSlot, List<VhdxLog.Entry> log, VhdxRegionTable regions,
      VhdxMetadata metadata, Region batRegion, long[] bat, long nextFree) {}

  /**
   * The header in force and where it is.
   *
   * @param header the valid header with the highest sequence number
   * @param slot 0 for the header at 64 KiB, 1 for the one at 128 KiB
   */
  record CurrentHeader(VhdxHeader header, int slot) {}

  /** Reads the current header, or throws naming both headers' problems. */
  static CurrentHeader readHeader(Path path, FileChannel ch) throws IOException {
    long fileSize = ch.size();
    if (fileSize < VhdxRegionTable.OFFSET_2 + VhdxRegionTable.SIZE) {
      throw new CorruptImageException("bad vhdx: " + path + ": file of " + fileSize + " bytes is shorter than the header section");
    }
    ByteBuffer sig = readAt(ch, 0, 8);
    if (!java.util.Arrays.equals(sig.array(), FILE_SIGNATURE)) {
      throw new CorruptImageException("not a vhdx: " + path + ": no \"vhdxfile\" signature at offset 0");
    }
    VhdxHeader best = null;
    int slot = -1;
    List<String> problems = new ArrayList<>();
    long[] offsets = {VhdxHeader.OFFSET_1, VhdxHeader.OFFSET_2};
    for (int i = 0; i < 2; i++) {
      try {
        VhdxHeader h = VhdxHeader.read(readAt(ch, offsets[i], VhdxHeader.SIZE), path + " header " + (i + 1)
            + " at offset " + offsets[i]);
        if (best == null || Long.compareUnsigned(h.sequence(), best.sequence()) > 0) {
          best = h;
          slot = i;
        }
      } catch (CorruptImageException e) {
        problems.add(e.getMessage());
      }
    }
    if (best == null) {
      throw new CorruptImageException("bad vhdx: " + path + ": no valid header (" + String.join("; ", problems) + ")");
    }
    if (best.version() != VhdxHeader.VERSION) {
      throw new UnsupportedFormatException("vhdx " + path, best.version(), 1, 1);
    }
    return new CurrentHeader(best, slot);
  }

  /** Reads and validates everything but the log's effect; the log is returned to replay. */
  static Layout readLayout(Path path, FileChannel ch, boolean replayAllowed) throws IOException {
    CurrentHeader current = readHeader(path, ch);
    VhdxHeader header = current.header();
    int slot = current.slot();
    List<VhdxLog.Entry> log = VhdxLog.activeSequence(ch, header, path.toString());
    if (!log.isEmpty() && !replayAllowed) {
      return new Layout(header, slot, log, null, null, null, null, 0);
    }
    long fileSize = ch.size();
    VhdxRegionTable regions;
    try {
      regions = VhdxRegionTable.read(readAt(ch, VhdxRegionTable.OFFSET_1, VhdxRegionTable.SIZE),
          path + " region table at offset " + VhdxRegionTable.OFFSET_1);
    } catch (CorruptImageException first) {
      regions = VhdxRegionTable.read(readAt(ch, VhdxRegionTable.OFFSET_2, VhdxRegionTable.SIZE),
          path + " region table copy at offset " + VhdxRegionTable.OFFSET_2);
    }
    List<Region> sorted = new ArrayList<>(regions.entries());
    if (!header.logGuid().equals(MsGuid.ZERO) || header.logLength() > 0) {
      sorted.add(new Region(MsGuid.ZERO, header.logOffset(), header.logLength(), true));
    }
    for (Region r : sorted) {
      boolean known = r.guid().equals(VhdxRegionTable.BAT) || r.guid().equals(VhdxRegionTable.METADATA)
          || r.guid().equals(MsGuid.ZERO);
      if (!known && r.required()) {
        throw new UnsupportedFormatException("unsupported vhdx: " + path + ": required region " + r.guid());
      }
      if (r.offset() < HEADER_SECTION || r.offset() % MIB != 0 || r.length() % MIB != 0 || r.offset() > fileSize
          || r.length() > fileSize - r.offset()) {
        throw new CorruptImageException("bad vhdx: " + path + ": region " + name(r) + " at offset " + r.offset()
            + " length " + r.length() + " is misaligned or outside the file (size " + fileSize + ")");
      }
    }
    sorted.sort(Comparator.comparingLong(Region::offset));
    for (int i = 1; i < sorted.size(); i++) {
      if (sorted.get(i).offset() < sorted.get(i - 1).end()) {
        throw new CorruptImageException("bad vhdx: " + path + ": region " + name(sorted.get(i)) + " at offset "
            + sorted.get(i).offset() + " overlaps region " + name(sorted.get(i - 1)));
      }
    }
    Region batRegion = regions.find(VhdxRegionTable.BAT);
    Region metaRegion = regions.find(VhdxRegionTable.METADATA);
    if (batRegion == null || metaRegion == null) {
      throw new CorruptImageException("bad vhdx: " + path + ": region table lacks the " + (batRegion == null ? "BAT" : "metadata") + " region");
    }
    if (metaRegion.length() > MAX_METADATA_REGION || metaRegion.length() < VhdxMetadata.TABLE_SIZE) {
      throw new CorruptImageException("bad vhdx: " + path + ": metadata region length " + metaRegion.length()
          + " is outside 64 KiB.." + MAX_METADATA_REGION);
    }
    VhdxMetadata metadata = VhdxMetadata.read(readAt(ch, metaRegion.offset(), (int) metaRegion.length()),
        path + " metadata region at offset " + metaRegion.offset());
    long chunkRatio = VhdxImage.chunkRatio(metadata);
    long blocks = (metadata.virtualSize() + metadata.blockSize() - 1) / metadata.blockSize();
    long entries = metadata.hasParent()
        ? (blocks + chunkRatio - 1) / chunkRatio * (chunkRatio + 1)
        : blocks + (blocks - 1) / chunkRatio;
    if (entries * 8 > batRegion.length() || entries > Integer.MAX_VALUE - 8) {
      throw new CorruptImageException("bad vhdx: " + path + ": BAT region of " + batRegion.length() + " bytes cannot hold the "
          + entries + " entries a disk of " + metadata.virtualSize() + " bytes needs");
    }
    ByteBuffer raw = readAt(ch, batRegion.offset(), (int) (entries * 8)).order(ByteOrder.LITTLE_ENDIAN);
    long[] bat = new long[(int) entries];
    long end = 0;
    for (Region r : sorted) {
      end = Math.max(end, r.end());
    }
    for (int i = 0; i < bat.length; i++) {
      long e = raw.getLong(i * 8);
      bat[i] = e;
      int state = (int) (e & 7);
      boolean isBitmap = i % (chunkRatio + 1) == chunkRatio;
      long off = e & VhdxImage.OFFSET_MASK;
      long span = isBitmap ? MIB : metadata.blockSize();
      boolean present;
      if (isBitmap) {
        if (state != 0 && state != VhdxImage.SB_PRESENT) {
          throw new CorruptImageException("bad vhdx: " + path + ": BAT entry " + i + " (sector bitmap) has state " + state);
        }
        present = state == VhdxImage.SB_PRESENT;
        if (present && !metadata.hasParent()) {
          present = false; // Not used without a parent; ignored as the format says.
        }
      } else {
        boolean ok = switch (state) {
          case VhdxImage.NOT_PRESENT, VhdxImage.UNDEFINED, VhdxImage.ZERO, VhdxImage.UNMAPPED,
              VhdxImage.FULLY_PRESENT -> true;
          case VhdxImage.PARTIALLY_PRESENT -> metadata.hasParent();
          default -> false;
        };
        if (!ok) {
          throw new CorruptImageException("bad vhdx: " + path + ": BAT entry " + i + " (payload block) has state " + state);
        }
        present = state == VhdxImage.FULLY_PRESENT || state == VhdxImage.PARTIALLY_PRESENT;
        if (state == VhdxImage.PARTIALLY_PRESENT) {
          long sb = (i / (chunkRatio + 1)) * (chunkRatio + 1) + chunkRatio;
          long sbEntry = sb < bat.length ? raw.getLong((int) sb * 8) : 0;
          if ((sbEntry & 7) != VhdxImage.SB_PRESENT) {
            throw new CorruptImageException("bad vhdx: " + path + ": BAT entry " + i
                + " is partially present but its chunk has no sector bitmap block");
          }
        }
      }
      if (present) {
        for (Region r : sorted) {
          if (off < r.end() && r.offset() < off + span) {
            throw new CorruptImageException("bad vhdx: " + path + ": BAT entry " + i + " at file offset 0x"
                + Long.toHexString(off) + " overlaps region " + name(r));
          }
        }
        if (off < HEADER_SECTION) {
          throw new CorruptImageException("bad vhdx: " + path + ": BAT entry " + i + " points into the header section");
        }
        end = Math.max(end, off + span);
      }
    }
    long nextFree = (Math.max(end, fileSize) + MIB - 1) / MIB * MIB;
    return new Layout(header, slot, log, regions, metadata, batRegion, bat, nextFree);
  }

  private static String name(Region r) {
    if (r.guid().equals(VhdxRegionTable.BAT)) {
      return "BAT";
    }
    if (r.guid().equals(VhdxRegionTable.METADATA)) {
      return "metadata";
    }
    return r.guid().equals(MsGuid.ZERO) ? "log" : r.guid().toString();
  }

  @Override
  public DiskImage open(Path path, boolean readOnly, ImageChainOpener chain) throws IOException {
    return files().open(path, readOnly, ch -> open(path, ch, readOnly, chain));
  }

  private static DiskImage open(Path path, FileChannel ch, boolean readOnly, ImageChainOpener chain) throws IOException {
    Layout layout = readLayout(path, ch, !readOnly);
    if (!layout.log().isEmpty()) {
      if (readOnly) {
        throw new ReadOnlyDeviceException("dirty vhdx: " + path + ": the log holds " + layout.log().size()
            + " entries not yet applied; open it read-write once to replay the log");
      }
      VhdxLog.replay(ch, layout.header(), layout.log());
      ch.force(false);
      VhdxHeader.writeBoth(ch, layout.header(), layout.headerSlot(), MsGuid.ZERO);
      layout = readLayout(path, ch, true);
    }
    DiskImage parent = null;
    String parentPath = null;
    VhdxMetadata m = layout.metadata();
    if (m.hasParent()) {
      if (chain == null) {
        throw new UnsupportedFormatException("unsupported vhdx: " + path + ": differencing disk opened without a chain opener");
      }
      Path p = resolveParent(path, m.parentLocator());
      parentPath = p.toString();
      parent = chain.openBacking(p, NAME);
      boolean ok = false;
      try {
        if (!(parent instanceof VhdxImage vp)) {
          throw new CorruptImageException("bad vhdx: " + path + ": parent " + p + " is not a VHDX");
        }
        String linkage = m.parentLocator().getOrDefault("parent_linkage", "");
        String actual = "{" + vp.dataWriteGuid() + "}";
        String linkage2 = m.parentLocator().getOrDefault("parent_linkage2", "");
        if (!linkage.equalsIgnoreCase(actual) && !linkage2.equalsIgnoreCase(actual)) {
          throw new CorruptImageException("bad vhdx: " + path + ": parent " + p + " has data write GUID " + actual
              + " but the differencing disk's parent_linkage is " + linkage);
        }
        if (vp.size() != m.virtualSize()) {
          throw new CorruptImageException("bad vhdx: " + path + ": parent " + p + " has size " + vp.size()
              + " but the differencing disk has " + m.virtualSize());
        }
        ok = true;
      } finally {
        if (!ok) {
          parent.close();
        }
      }
    }
    return new VhdxImage(path, ch, readOnly, layout.header(), layout.headerSlot(), m, layout.batRegion().offset(),
        layout.bat(), layout.nextFree(), parent, parentPath);
  }

  /** Finds a differencing disk's parent: relative path, then absolute path, then volume path. */
  static Path resolveParent(Path child, Map<String, String> locator) throws CorruptImageException {
    Path dir = child.toAbsolutePath().getParent();
    List<String> tried = new ArrayList<>();
    for (String key : List.of("relative_path", "absolute_win32_path", "volume_path")) {
      String v = locator.get(key);
      if (v == null || v.isEmpty()) {
        continue;
      }
      String p = v.replace('\\', '/');
      List<Path> candidates = new ArrayList<>();
      try {
        if (key.equals("relative_path")) {
          candidates.add(dir.resolve(p).normalize());
        } else if (!p.matches("^[A-Za-z]:.*") && !p.startsWith("//")) {
          candidates.add(Path.of(p));
        }
        candidates.add(dir.resolve(p.substring(p.lastIndexOf('/') + 1)));
      } catch (java.nio.file.InvalidPathException e) {
        continue;
      }
      for (Path c : candidates) {
        tried.add(c.toString());
        if (Files.isRegularFile(c)) {
          return c;
        }
      }
    }
    throw new CorruptImageException("bad vhdx: " + child + ": parent not found (tried " + String.join(", ", tried) + ")");
  }

  static ByteBuffer readAt(FileChannel ch, long position, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    FileContent.readOrZero(ch, position, b);
    return b.clear();
  }

  @Override
  public DiskImage create(Path path, long size, CreateOptions options, ImageChainOpener chain) throws IOException {
    options.requireKnown(NAME, OPTIONS);
    ImageFiles.unsafeCache(options); // validated before anything is written
    String sub = options.get("subformat", "dynamic");
    if (!sub.equals("dynamic") && !sub.equals("fixed")) {
      throw new IllegalArgumentException("unknown vhdx subformat '" + sub + "' (dynamic or fixed)");
    }
    long logSize = parseSize(options.get("log_size", String.valueOf(MIB)));
    if (logSize < MIB || logSize % MIB != 0 || logSize > (1L << 32) - MIB) {
      throw new IllegalArgumentException("vhdx log_size " + logSize + " must be a multiple of 1 MiB");
    }
    boolean zeroState = switch (options.get("block_state_zero", "off")) {
      case "on", "true" -> true;
      case "off", "false" -> false;
      default -> throw new IllegalArgumentException("vhdx block_state_zero must be on or off");
    };
    Map<String, String> locator = Map.of();
    UUID parentGuid = null;
    boolean fixed = sub.equals("fixed");
    if (options.backingFile() != null) {
      if (fixed) {
        throw new IllegalArgumentException("a fixed vhdx cannot have a parent");
      }
      Path dir = path.toAbsolutePath().getParent();
      Path parentPath = dir.resolve(options.backingFile()).normalize();
      try (DiskImage parent = chain.openBacking(parentPath, NAME)) {
        if (!(parent instanceof VhdxImage vp)) {
          throw new IllegalArgumentException("parent " + parentPath + " is not a vhdx image");
        }
        size = vp.size();
        parentGuid = vp.dataWriteGuid();
      }
      Map<String, String> l = new LinkedHashMap<>();
      l.put("parent_linkage", "{" + parentGuid + "}");
      l.put("relative_path", dir.relativize(parentPath).toString().replace('/', '\\'));
      l.put("absolute_win32_path", parentPath.toString());
      locator = l;
    }
    if (size <= 0 || size > VhdxMetadata.MAX_VIRTUAL_SIZE) {
      throw new IllegalArgumentException("vhdx size " + size + " must be from 1 byte to 64 TiB");
    }
    size = (size + 511) / 512 * 512;
    long requested = parseSize(options.get("block_size", "0"));
    // Without a request, qemu's choice, so that both tools make the same files from the same request.
    long blockSize = requested != 0 ? requested : parentGuid != null ? 2 * MIB
        : size > (32L << 40) ? 64 * MIB : size > (100L << 30) ? 32 * MIB : size > (1L << 30) ? 16 * MIB : 8 * MIB;
    if (blockSize < MIB || blockSize > 256 * MIB || Long.bitCount(blockSize) != 1) {
      throw new IllegalArgumentException("vhdx block_size " + blockSize + " is not a power of two from 1 MiB to 256 MiB");
    }
    VhdxMetadata metadata = new VhdxMetadata(blockSize, fixed, parentGuid != null, size, UUID.randomUUID(), 512, 512,
        locator);
    long chunkRatio = VhdxImage.chunkRatio(metadata);
    long blocks = (size + blockSize - 1) / blockSize;
    long entries = parentGuid != null
        ? (blocks + chunkRatio - 1) / chunkRatio * (chunkRatio + 1)
        : blocks + (blocks - 1) / chunkRatio;
    long logOffset = HEADER_SECTION;
    long metaOffset = logOffset + logSize;
    long batOffset = metaOffset + MIB;
    long batLength = (entries * 8 + MIB - 1) / MIB * MIB;
    long payload = batOffset + batLength;
    files().create(path, ch -> {
      ByteBuffer id = ByteBuffer.allocate(64 * 1024);
      id.put(FILE_SIGNATURE);
      id.put("vstore".getBytes(StandardCharsets.UTF_16LE));
      write(ch, 0, id.clear());
      VhdxHeader h = new VhdxHeader(0, UUID.randomUUID(), UUID.randomUUID(), MsGuid.ZERO, 0, VhdxHeader.VERSION,
          logSize, logOffset);
      write(ch, VhdxHeader.OFFSET_1, h.toBuffer());
      write(ch, VhdxHeader.OFFSET_2, h.with(1, h.fileWriteGuid(), h.dataWriteGuid(), MsGuid.ZERO).toBuffer());
      VhdxRegionTable rt = new VhdxRegionTable(List.of(
          new Region(VhdxRegionTable.BAT, batOffset, batLength, true),
          new Region(VhdxRegionTable.METADATA, metaOffset, MIB, true)));
      ByteBuffer rtb = ByteBuffer.allocate(VhdxRegionTable.SIZE);
      rt.write(rtb);
      write(ch, VhdxRegionTable.OFFSET_1, rtb.duplicate().clear());
      write(ch, VhdxRegionTable.OFFSET_2, rtb.duplicate().clear());
      write(ch, metaOffset, metadata.toRegion((int) MIB));
      ByteBuffer bat = ByteBuffer.allocate((int) Math.min(batLength, 8 * MIB)).order(ByteOrder.LITTLE_ENDIAN);
      long fileEnd = payload;
      long block = 0;
      for (long i = 0; i < batLength / 8; ) {
        bat.clear();
        while (bat.hasRemaining() && i < batLength / 8) {
          long e = 0;
          boolean isBitmap = i % (chunkRatio + 1) == chunkRatio;
          if (i < entries && !isBitmap) {
            if (fixed) {
              e = (payload + block * blockSize) | VhdxImage.FULLY_PRESENT;
              fileEnd = payload + (block + 1) * blockSize;
            } else if (zeroState) {
              e = VhdxImage.ZERO;
            }
            block++;
          }
          bat.putLong(e);
          i++;
        }
        write(ch, batOffset + (i * 8 - bat.position()), bat.flip());
      }
      // The file must reach past its last structure and every preallocated block (sparse).
      write(ch, fileEnd - 1, ByteBuffer.allocate(1));
    });
    return ImageFiles.applyCache((VhdxImage) open(path, false, chain), options);
  }

  private static long parseSize(String s) {
    String t = s.trim().toUpperCase(java.util.Locale.ROOT);
    long mult = 1;
    if (t.endsWith("K")) {
      mult = 1024;
    } else if (t.endsWith("M")) {
      mult = MIB;
    } else if (t.endsWith("G")) {
      mult = 1L << 30;
    }
    if (mult != 1) {
      t = t.substring(0, t.length() - 1);
    }
    return Long.parseLong(t) * mult;
  }

  private static void write(FileChannel ch, long position, ByteBuffer src) throws IOException {
    FileContent.writeFully(ch, position, src);
  }

  @Override
  public CheckResult check(Path path) throws IOException {
    return VhdxCheck.check(path);
  }
}
