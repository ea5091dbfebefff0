package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.store.ChannelOpener;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageProbe;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Set;

/**
 * QEMU's qcow2, versions 2 ({@code compat=0.10}) and 3 ({@code compat=1.1}).
 *
 * <p>Create options, as qemu-img spells them: {@code compat}, {@code cluster_size} (512 B to
 * 2 MiB), {@code refcount_bits} (1 to 64), {@code compression_type} (zlib or zstd),
 * {@code backing_file}, {@code backing_fmt}, {@code preallocation=off}, {@code lazy_refcounts=off},
 * {@code extended_l2} (on needs compat=1.1 and clusters of at least 16 KiB); and for the returned handle only: vstore's {@code compress=on}, which
 * stores every whole-cluster write compressed (what {@code convert -c} uses), and {@code cache=unsafe},
 * which keeps the safe write order but skips syncs (the default of {@code qemu-img convert}).
 */
public final class Qcow2Format implements ImageFormat {
  /** The format's name as qemu-img spells it. */
  public static final String NAME = "qcow2";
  /** Option that makes the created handle compress whole-cluster writes. */
  public static final String COMPRESS = "compress";

  private final ChannelOpener channels;

  /** Creates the format with the platform's file channels. */
  public Qcow2Format() {
    this(ChannelOpener.DEFAULT);
  }

  /** Creates the format opening every image file through {@code channels} (crash tests pass a lossy opener). */
  public Qcow2Format(ChannelOpener channels) {
    this.channels = channels;
  }

  private static final Set<String> KNOWN = Set.of("compat", "cluster_size", "refcount_bits", "compression_type",
      "backing_file", "backing_fmt", "preallocation", "lazy_refcounts", "extended_l2", COMPRESS, "size", "cache");

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public boolean probe(ImageProbe probe) {
    ByteBuffer h = probe.head().duplicate().order(ByteOrder.BIG_ENDIAN);
    return h.remaining() >= 8 && h.getInt(h.position()) == Qcow2Header.MAGIC;
  }

  @Override
  public DiskImage open(Path path, boolean readOnly, ImageChainOpener chain) throws IOException {
    return Qcow2Image.open(path, readOnly, chain, false, true, channels);
  }

  @Override
  public DiskImage create(Path path, long size, CreateOptions options, ImageChainOpener chain) throws IOException {
    for (String key : options.options().keySet()) {
      if (!KNOWN.contains(key)) {
        throw new UnsupportedFormatException("unsupported qcow2 option: '" + key + "' (known: " + KNOWN + ")");
      }
    }
    String compat = options.get("compat", "1.1");
    int version = switch (compat) {
      case "1.1", "v3" -> 3;
      case "0.10", "v2" -> 2;
      default -> throw new UnsupportedFormatException("unsupported qcow2 option: compat=" + compat
          + " (use 0.10 or 1.1)");
    };
    int clusterSize = parseInt(options.get("cluster_size", "65536"), "cluster_size");
    if (Integer.bitCount(clusterSize) != 1 || clusterSize < 512 || clusterSize > (2 << 20)) {
      throw new UnsupportedFormatException("unsupported qcow2 option: cluster_size=" + clusterSize
          + " (a power of two from 512 to 2M)");
    }
    int refcountBits = parseInt(options.get("refcount_bits", "16"), "refcount_bits");
    if (Integer.bitCount(refcountBits) != 1 || refcountBits > 64 || version == 2 && refcountBits != 16) {
      throw new UnsupportedFormatException("unsupported qcow2 option: refcount_bits=" + refcountBits
          + " (a power of two up to 64; compat=0.10 needs 16)");
    }
    String compression = options.get("compression_type", "zlib");
    int compressionType = switch (compression) {
      case "zlib" -> Qcow2Header.COMPRESSION_ZLIB;
      case "zstd" -> Qcow2Header.COMPRESSION_ZSTD;
      default -> throw new UnsupportedFormatException("unsupported qcow2 option: compression_type=" + compression);
    };
    if (version == 2 && compressionType != Qcow2Header.COMPRESSION_ZLIB) {
      throw new UnsupportedFormatException("unsupported qcow2 option: compression_type=zstd needs compat=1.1");
    }
    requireOff(options, "preallocation");
    requireOff(options, "lazy_refcounts");
    boolean extendedL2 = onOff(options, "extended_l2");
    if (extendedL2 && (version != 3 || clusterSize < (1 << Qcow2Header.MIN_EXTL2_CLUSTER_BITS))) {
      throw new UnsupportedFormatException("unsupported qcow2 option: extended_l2=on needs compat=1.1 and cluster_size"
          + " of at least " + (1 << Qcow2Header.MIN_EXTL2_CLUSTER_BITS) + " (got compat=" + compat + ", cluster_size="
          + clusterSize + ")");
    }
    boolean compress = onOff(options, COMPRESS);
    String backingFile = options.backingFile() != null ? options.backingFile() : options.options().get("backing_file");
    String backingFormat = options.backingFormat() != null ? options.backingFormat()
        : options.options().get("backing_fmt");
    if (backingFile != null) {
      // Opening the backing file checks it exists, finds its format and, without SIZE, its size.
      try (DiskImage b = chain.openBacking(ImageFormats.resolveBacking(path, backingFile), backingFormat)) {
        if (backingFormat == null) {
          backingFormat = b.info().format();
        }
        if (size < 0) {
          size = b.size();
        }
      }
    }
    if (size < 0) {
      throw new IllegalArgumentException("image size must not be negative: " + size);
    }
    Qcow2Layout.write(path, size, version, Integer.numberOfTrailingZeros(clusterSize),
        Integer.numberOfTrailingZeros(refcountBits), compressionType, extendedL2, backingFile, backingFormat, channels);
    boolean success = false;
    try {
      DiskImage img = Qcow2Image.open(path, false, chain, compress, syncs(options), channels);
      success = true;
      return img;
    } finally {
      if (!success) {
        Files.deleteIfExists(path);
      }
    }
  }

  /** Reads the {@code cache} option: {@code unsafe} skips syncs (as qemu-img convert does by default). */
  static boolean syncs(CreateOptions options) throws UnsupportedFormatException {
    return switch (options.get("cache", "writeback")) {
      case "writeback", "writethrough", "none", "directsync" -> true;
      case "unsafe" -> false;
      default -> throw new UnsupportedFormatException("unsupported option: cache=" + options.get("cache", "")
          + " (writeback, writethrough, none, directsync or unsafe)");
    };
  }

  private static void requireOff(CreateOptions options, String key) throws UnsupportedFormatException {
    String v = options.get(key, "off");
    if (!v.equals("off")) {
      throw new UnsupportedFormatException("unsupported qcow2 option: " + key + "=" + v + " (only off)");
    }
  }

  private static boolean onOff(CreateOptions options, String key) throws UnsupportedFormatException {
    return switch (options.get(key, "off").toLowerCase(Locale.ROOT)) {
      case "on", "true", "yes" -> true;
      case "off", "false", "no" -> false;
      default -> throw new UnsupportedFormatException("unsupported qcow2 option: " + key + "=" + options.get(key, "")
          + " (on or off)");
    };
  }

  private static int parseInt(String v, String key) throws UnsupportedFormatException {
    String s = v.trim().toUpperCase(Locale.ROOT);
    int shift = 0;
    if (s.endsWith("K")) {
      shift = 10;
    } else if (s.endsWith("M")) {
      shift = 20;
    }
    if (shift > 0) {
      s = s.substring(0, s.length() - 1);
    }
    try {
      long n = Long.parseLong(s) << shift;
      if (n <= 0 || n > Integer.MAX_VALUE) {
        throw new NumberFormatException();
      }
      return (int) n;
    } catch (NumberFormatException e) {
      throw new UnsupportedFormatException("unsupported qcow2 option: " + key + "=" + v + " is not a number");
    }
  }

  @Override
  public CheckResult check(Path path) throws IOException {
    return Qcow2Check.check(path);
  }

  @Override
  public void resize(Path path, long newSize, boolean allowShrink) throws IOException {
    Qcow2Resize.resize(path, newSize, allowShrink, channels);
  }

  @Override
  public boolean canSetBackingFile() {
    return true;
  }

  @Override
  public void setBackingFile(Path path, String backingName, String backingFormat) throws IOException {
    Qcow2BackingReference.rewrite(path, backingName, backingFormat, channels);
  }

  /** Writes a new, empty qcow2 file: header, refcount table and blocks, empty L1 table. */
  static final class Qcow2Layout {
    private Qcow2Layout() {}

    static void write(Path path, long size, int version, int clusterBits, int refcountOrder, int compressionType,
        boolean extendedL2, String backingFile, String backingFormat, ChannelOpener channels) throws IOException {
      int cs = 1 << clusterBits;
      long l2Coverage = 1L << (clusterBits + clusterBits - (extendedL2 ? 4 : 3));
      long l1Size = Math.max(1, (size + l2Coverage - 1) / l2Coverage);
      if (l1Size * 8 > Qcow2L2Cache.MAX_L1_BYTES) {
        throw new UnsupportedFormatException("unsupported qcow2: " + size + " bytes need an L1 table larger than "
            + Qcow2L2Cache.MAX_L1_BYTES + " bytes with cluster_size " + cs + "; use a larger cluster size");
      }
      long l1Clusters = (l1Size * 8 + cs - 1) >>> clusterBits;
      long perBlock = ((long) cs * 8) >>> refcountOrder;
      // Size the refcount table for the largest file the image can grow to, so it never has to move.
      long dataClusters = (size + cs - 1) >>> clusterBits;
      long rt = 1;
      while (true) {
        long maxClusters = 1 + rt + l1Clusters + l1Size + dataClusters + 16;
        long blocks = (maxClusters + perBlock - 1) / perBlock;
        long blocksWithOwn = (maxClusters + blocks + perBlock - 1) / perBlock;
        long need = Math.max(1, (blocksWithOwn * 8 + cs - 1) >>> clusterBits);
        if ((need << clusterBits) > Qcow2Refcounts.MAX_TABLE_BYTES) {
          need = Qcow2Refcounts.MAX_TABLE_BYTES >>> clusterBits; // grows (and may fail clearly) later
        }
        if (need <= rt) {
          break;
        }
        rt = need;
      }
      long used = 1 + rt + l1Clusters;
      long blocks = 1;
      while ((used + blocks + perBlock - 1) / perBlock > blocks) {
        blocks++;
      }
      used += blocks;
      long rtOffset = (long) cs;
      long blocksOffset = (1 + rt) << clusterBits;
      long l1Offset = (1 + rt + blocks) << clusterBits;

      int headerLength = version == 3 ? Qcow2Header.V3_LENGTH : Qcow2Header.V2_LENGTH;
      ByteBuffer first = ByteBuffer.allocate(cs).order(ByteOrder.BIG_ENDIAN);
      first.position(headerLength);
      if (backingFormat != null) {
        byte[] f = backingFormat.getBytes(StandardCharsets.UTF_8);
        ensureRoom(first, 8 + ((f.length + 7) & ~7) + 8, path);
        first.putInt(Qcow2Extensions.EXT_BACKING_FORMAT).putInt(f.length).put(f);
        first.position((first.position() + 7) & ~7);
      }
      ensureRoom(first, 8, path);
      first.putInt(Qcow2Extensions.EXT_END).putInt(0);
      long backingOffset = 0;
      int backingSize = 0;
      if (backingFile != null) {
        byte[] b = backingFile.getBytes(StandardCharsets.UTF_8);
        if (b.length > 1023) {
          throw new UnsupportedFormatException("unsupported qcow2: backing file name longer than 1023 bytes");
        }
        ensureRoom(first, b.length, path);
        backingOffset = first.position();
        backingSize = b.length;
        first.put(b);
      }
      long incompat = (compressionType == Qcow2Header.COMPRESSION_ZSTD ? Qcow2Header.INCOMPAT_COMPRESSION : 0)
          | (extendedL2 ? Qcow2Header.INCOMPAT_EXTL2 : 0);
      Qcow2Header h = new Qcow2Header(version, backingOffset, backingSize, clusterBits, size, 0, (int) l1Size, l1Offset,
          rtOffset, (int) rt, 0, 0, incompat, 0, 0, refcountOrder, headerLength, compressionType);
      h.write(first.position(0));
      first.clear();

      ByteBuffer table = ByteBuffer.allocate((int) (rt << clusterBits)).order(ByteOrder.BIG_ENDIAN);
      for (long i = 0; i < blocks; i++) {
        table.putLong(blocksOffset + (i << clusterBits));
      }
      table.clear();
      ByteBuffer refBlocks = ByteBuffer.allocate((int) (blocks << clusterBits));
      int bits = 1 << refcountOrder;
      for (long c = 0; c < used; c++) {
        // refcount 1, big-endian, in an entry of 'bits' bits (sub-byte entries fill bytes from the low bits)
        long bitPos = c * bits;
        if (bits < 8) {
          int idx = (int) (bitPos >>> 3);
          refBlocks.put(idx, (byte) (refBlocks.get(idx) | (1 << (bitPos & 7))));
        } else {
          refBlocks.put((int) ((bitPos + bits) >>> 3) - 1, (byte) 1);
        }
      }
      try (FileChannel ch = channels.open(path, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING))) {
        Qcow2Io.writeFully(ch, 0, first);
        Qcow2Io.writeFully(ch, rtOffset, table);
        Qcow2Io.writeFully(ch, blocksOffset, refBlocks);
        Qcow2Io.writeFully(ch, l1Offset, ByteBuffer.allocate((int) (l1Clusters << clusterBits)));
        ch.force(true);
      }
    }

    private static void ensureRoom(ByteBuffer b, int n, Path path) throws UnsupportedFormatException {
      if (b.remaining() < n) {
        throw new UnsupportedFormatException("unsupported qcow2: header extensions and backing file name of " + path
            + " do not fit in one " + b.capacity() + "-byte cluster");
      }
    }
  }
}
