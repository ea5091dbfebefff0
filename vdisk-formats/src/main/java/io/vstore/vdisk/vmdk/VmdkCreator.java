package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Creates VMDK images laid out as qemu-img lays them out: {@code subformat} monolithicSparse
 * (default), streamOptimized, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat, with
 * {@code adapter_type}, {@code hwversion}, {@code toolsversion}, {@code zeroed_grain} and a
 * backing (parent) file for delta disks.
 */
final class VmdkCreator {
  static final int SECTOR = 512;
  /** Grain size of created sparse extents, in sectors (64 KiB, as VMware and qemu). */
  static final long GRAIN_SECTORS = 128;
  /** Grain table entries per table, as VMware and qemu. */
  static final int GTES = 512;
  /** Space for the embedded descriptor, in sectors, as qemu reserves. */
  static final long DESCRIPTOR_SECTORS = 20;
  /** Size of each extent of the twoGbMaxExtent subformats (qemu splits at 2 GiB). */
  static final long SPLIT_BYTES = 2L << 30;
  private static final Set<String> KNOWN =
      Set.of("subformat", "adapter_type", "hwversion", "toolsversion", "zeroed_grain", "compat6", "cache");
  private static final Set<String> ADAPTERS = Set.of("ide", "buslogic", "lsilogic", "legacyESX");

  private VmdkCreator() {}

  /** Creates the image and opens it read-write. */
  static DiskImage create(Path path, long size, CreateOptions options, ImageChainOpener chain, ImageFiles files)
      throws IOException {
    for (String key : options.options().keySet()) {
      if (!KNOWN.contains(key)) {
        throw new IllegalArgumentException("vmdk: unknown create option '" + key + "' (known: " + KNOWN + ")");
      }
    }
    String cache = options.get("cache", "writeback");
    if (!cache.equals("writeback") && !cache.equals("unsafe")) {
      throw new IllegalArgumentException("vmdk: cache must be writeback or unsafe, not '" + cache + "'");
    }
    // cache=unsafe lets the stream writer skip its final fsync, as qemu-img convert does by
    // default; the other subformats keep syncing, which unsafe permits.
    boolean syncOnClose = cache.equals("writeback");
    String subformat = options.get("subformat", "monolithicSparse");
    String adapter = options.get("adapter_type", "ide");
    if (!ADAPTERS.contains(adapter)) {
      throw new IllegalArgumentException("vmdk: adapter_type '" + adapter + "' is not one of " + ADAPTERS);
    }
    String hw = options.get("hwversion", Boolean.parseBoolean(options.get("compat6", "false")) || "on".equals(options.get("compat6", "off")) ? "6" : "4");
    if (!hw.matches("[0-9]{1,3}")) {
      throw new IllegalArgumentException("vmdk: hwversion '" + hw + "' is not a number");
    }
    String tools = options.get("toolsversion", "2147483647");
    boolean zeroedGrain = isOn(options.get("zeroed_grain", "off"));
    long parentCid = Descriptor.NO_PARENT;
    String hint = null;
    if (options.backingFile() != null) {
      if (!subformat.equals("monolithicSparse") && !subformat.equals("twoGbMaxExtentSparse")) {
        throw new IllegalArgumentException("vmdk: a " + subformat + " image cannot have a backing file");
      }
      hint = options.backingFile();
      Path parentPath = Path.of(hint).isAbsolute() || path.toAbsolutePath().getParent() == null ? Path.of(hint)
          : path.toAbsolutePath().getParent().resolve(hint);
      try (DiskImage parent = chain.openBacking(parentPath, options.backingFormat() == null ? "vmdk" : options.backingFormat())) {
        Object cid = parent.info().details().get("cid");
        if (!(cid instanceof Long c) || !"vmdk".equals(parent.info().format())) {
          throw new UnsupportedFormatException("unsupported vmdk: backing file " + parentPath + " must be a vmdk, is "
              + parent.info().format());
        }
        parentCid = c;
        if (size <= 0) {
          size = parent.size();
        }
      }
    }
    if (size <= 0) {
      throw new IllegalArgumentException("vmdk: size " + size + " must be positive");
    }
    long sectors = (size + SECTOR - 1) / SECTOR;
    if (sectors > ExtentLine.MAX_SECTORS) {
      throw new IllegalArgumentException("vmdk: size " + size + " too large");
    }
    long cid = newCid();
    Map<String, String> ddb = new LinkedHashMap<>();
    long heads = adapter.equals("ide") ? 16 : 255;
    ddb.put("ddb.virtualHWVersion", hw);
    ddb.put("ddb.geometry.cylinders", Long.toString(Math.min(sectors / heads / 63, 16383)));
    ddb.put("ddb.geometry.heads", Long.toString(heads));
    ddb.put("ddb.geometry.sectors", "63");
    ddb.put("ddb.adapterType", adapter);
    ddb.put("ddb.toolsVersion", tools);
    String name = path.getFileName().toString();
    String base = name.endsWith(".vmdk") ? name.substring(0, name.length() - 5) : name;
    List<Path> created = new ArrayList<>();
    boolean success = false;
    try {
      DiskImage image;
      switch (subformat) {
        case "monolithicSparse" -> {
          Descriptor d = new Descriptor(1, cid, parentCid, subformat, hint,
              List.of(new ExtentLine(ExtentLine.Access.RW, sectors, ExtentLine.Type.SPARSE, name, 0)), ddb, Map.of());
          created.add(path);
          writeSparseExtent(path, sectors, d, zeroedGrain);
          image = VmdkImage.open(path, false, chain, true, files);
        }
        case "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "monolithicFlat" -> {
          boolean flat = !subformat.equals("twoGbMaxExtentSparse");
          boolean split = subformat.startsWith("twoGb");
          List<ExtentLine> lines = new ArrayList<>();
          long left = sectors;
          for (int i = 1; left > 0; i++) {
            long n = split ? Math.min(left, SPLIT_BYTES / SECTOR) : left;
            String file = !split ? base + "-flat.vmdk" : String.format("%s-%s%03d.vmdk", base, flat ? "f" : "s", i);
            Path p = path.resolveSibling(file);
            if (Files.exists(p)) {
              throw new IOException("vmdk: extent file " + p + " already exists");
            }
            created.add(p);
            if (flat) {
              writeFlatExtent(p, n * SECTOR);
            } else {
              writeSparseExtent(p, n, null, zeroedGrain);
            }
            lines.add(new ExtentLine(ExtentLine.Access.RW, n, flat ? ExtentLine.Type.FLAT : ExtentLine.Type.SPARSE, file, 0));
            left -= n;
          }
          Descriptor d = new Descriptor(1, cid, parentCid, subformat, hint, lines, ddb, Map.of());
          created.add(path);
          Files.writeString(path, d.toText(), StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
          image = VmdkImage.open(path, false, chain, true, files);
        }
        case "streamOptimized" -> {
          Descriptor d = new Descriptor(1, cid, parentCid, subformat, hint,
              List.of(new ExtentLine(ExtentLine.Access.RW, sectors, ExtentLine.Type.SPARSE, name, 0)), ddb, Map.of());
          created.add(path);
          image = StreamOptimizedWriter.create(path, sectors, d, syncOnClose, zeroedGrain, files);
        }
        default -> throw new IllegalArgumentException("vmdk: unknown subformat '" + subformat
            + "' (monolithicSparse, streamOptimized, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat)");
      }
      success = true;
      return image;
    } finally {
      if (!success) {
        for (Path p : created) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static boolean isOn(String v) {
    return v.equals("on") || v.equals("true") || v.equals("1");
  }

  /** Returns a random content id (never the "no parent" value). */
  static long newCid() {
    long cid;
    do {
      cid = new SecureRandom().nextInt() & 0xffffffffL;
    } while (cid == Descriptor.NO_PARENT);
    return cid;
  }

  /**
   * Writes an empty hosted sparse extent laid out as qemu does: header, descriptor (when
   * embedded), redundant directory and tables, directory and tables, all tables preallocated.
   */
  static void writeSparseExtent(Path file, long capacity, Descriptor embedded, boolean zeroedGrain) throws IOException {
    long grains = (capacity + GRAIN_SECTORS - 1) / GRAIN_SECTORS;
    long gtCount = (grains + GTES - 1) / GTES;
    long gtSectors = (GTES * 4L + SECTOR - 1) / SECTOR;
    long gdSectors = (gtCount * 4 + SECTOR - 1) / SECTOR;
    long descOffset = embedded == null ? 0 : 1;
    long descSectors = embedded == null ? 0 : DESCRIPTOR_SECTORS;
    long rgdOffset = embedded == null ? 1 : descOffset + descSectors;
    long gdOffset = rgdOffset + gdSectors + gtSectors * gtCount;
    long overhead = (gdOffset + gdSectors + gtSectors * gtCount + GRAIN_SECTORS - 1) / GRAIN_SECTORS * GRAIN_SECTORS;
    if (overhead > 0xffffffffL) {
      throw new IllegalArgumentException("vmdk: extent of " + capacity + " sectors is too large for 32-bit grain offsets");
    }
    int flags = SparseHeader.FLAG_NL_DETECT | SparseHeader.FLAG_RGD | (zeroedGrain ? SparseHeader.FLAG_ZERO_GRAIN : 0);
    SparseHeader h = new SparseHeader(zeroedGrain ? 2 : 1, flags, capacity, GRAIN_SECTORS, descOffset, descSectors, GTES,
        rgdOffset, gdOffset, overhead, false, 0);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer hb = ByteBuffer.allocate(SparseHeader.SIZE);
      h.write(hb);
      FileContent.writeFully(ch, 0, hb.flip());
      if (embedded != null) {
        byte[] text = embedded.toText().getBytes(StandardCharsets.UTF_8);
        if (text.length > descSectors * SECTOR) {
          throw new IllegalArgumentException("vmdk: descriptor of " + text.length + " bytes does not fit " + descSectors + " sectors");
        }
        FileContent.writeFully(ch, descOffset * SECTOR, ByteBuffer.wrap(text));
      }
      writeDirectory(ch, rgdOffset, gdSectors, gtCount, gtSectors);
      writeDirectory(ch, gdOffset, gdSectors, gtCount, gtSectors);
      // The tables and the padding up to the first grain are zeros: extend the file sparsely.
      FileContent.writeFully(ch, overhead * SECTOR - 1, ByteBuffer.allocate(1));
    }
  }

  private static void writeDirectory(FileChannel ch, long dirSector, long gdSectors, long gtCount, long gtSectors) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) (gdSectors * SECTOR)).order(ByteOrder.LITTLE_ENDIAN);
    long first = dirSector + gdSectors;
    for (long i = 0; i < gtCount; i++) {
      b.putInt((int) (first + i * gtSectors));
    }
    b.clear();
    FileContent.writeFully(ch, dirSector * SECTOR, b);
  }

  private static void writeFlatExtent(Path file, long bytes) throws IOException {
    Files.createFile(file);
    // setLength extends without writing: the whole extent starts as one hole.
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(bytes);
    }
  }
}
