package io.vstore.cli;

import io.vstore.blockstore.Extent;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vstore image measure}: the space an image would need in a format, as {@code qemu-img
 * measure} computes it: for a new image of a size, or for converting an existing image.
 */
@Command(name = "measure", description = "Show the space an image would need in a format: for --size SIZE, or to "
    + "convert FILE (as qemu-img measure; raw and qcow2).")
final class ImageMeasure implements Callable<Integer> {
  private static final long QCOW2_DEFAULT_CLUSTER = 64 << 10;
  private static final int QCOW2_REFCOUNT_BITS = 16;
  private static final int ENTRY = 8;

  @ArgGroup(exclusive = true, multiplicity = "1") Source source;
  @Option(names = "-f", paramLabel = "FMT", description = "Format of FILE (default: detected).") String inFormat;
  @Option(names = "-O", paramLabel = "FORMAT", defaultValue = "raw",
      description = "The format to measure for: raw or qcow2 (default: ${DEFAULT-VALUE}).") String format;
  @Option(names = "-o", paramLabel = "KEY=VALUE,...", description = "Format options, as qemu-img's -o (cluster_size).")
  List<String> options = new ArrayList<>();
  @Mixin OutputOptions output;

  /** Measure a new image of a size, or an existing image. */
  static final class Source {
    @Option(names = "--size", paramLabel = "SIZE", description = "Virtual size of a new image.") Long size;
    @Parameters(paramLabel = "FILE", arity = "0..1", description = "The image to measure for conversion.") Path file;
  }

  /**
   * The measurement.
   *
   * @param required bytes the image needs for the data it holds
   * @param fullyAllocated bytes it needs once every cluster is written
   */
  record Measurement(long required, long fullyAllocated) {}

  @Override
  public Integer call() throws Exception {
    long cluster = Sizes.parse(ImageCommand.options(options).getOrDefault("cluster_size",
        String.valueOf(QCOW2_DEFAULT_CLUSTER)));
    if (!format.equals(ImageFormats.RAW) && !format.equals("qcow2")) {
      throw new UnsupportedFormatException("unsupported: measure for format " + format + " (raw, qcow2)");
    }
    if (cluster < 512 || cluster > (2 << 20) || Long.bitCount(cluster) != 1) {
      throw new IllegalArgumentException("cluster_size " + cluster + " must be a power of two from 512 to 2M");
    }
    long virtual;
    long data;
    if (source.size != null) {
      virtual = source.size;
      data = 0;
    } else {
      try (DiskImage img = ImageFormats.open(source.file, inFormat, true)) {
        virtual = img.size();
        data = dataClusters(img, cluster) * cluster;
      }
    }
    Measurement m = format.equals(ImageFormats.RAW) ? new Measurement(virtual, virtual) : qcow2(virtual, data, cluster);
    output.print(m, (out, x) -> {
      out.println("required size: " + x.required());
      out.println("fully allocated size: " + x.fullyAllocated());
    });
    return 0;
  }

  /** Returns how many {@code cluster}-byte clusters the data extents of {@code img} touch. */
  static long dataClusters(DiskImage img, long cluster) throws IOException {
    long count = 0;
    long next = 0; // first cluster not counted yet: extents are in order, neighbours may share one
    for (Extent e : img.allocation(0, img.size())) {
      if (e.kind() != Extent.Kind.DATA || e.length() == 0) {
        continue;
      }
      long first = Math.max(next, e.offset() / cluster);
      long end = (e.offset() + e.length() + cluster - 1) / cluster;
      if (end > first) {
        count += end - first;
        next = end;
      }
    }
    return count;
  }

  /**
   * Returns qcow2's figures: the metadata of a fully preallocated image of {@code virtual} bytes
   * (header, L2 and L1 tables, refcount table and blocks, as qemu-img computes them) plus the data.
   */
  static Measurement qcow2(long virtual, long data, long cluster) {
    long aligned = roundUp(virtual, cluster);
    long entriesPerCluster = cluster / ENTRY;
    long meta = cluster; // header
    long l2Entries = roundUp(aligned / cluster, entriesPerCluster);
    meta += l2Entries * ENTRY;
    long l1Entries = roundUp(l2Entries * ENTRY / cluster, entriesPerCluster);
    meta += l1Entries * ENTRY;
    meta += refcountMetadata((meta + aligned) / cluster, cluster);
    return new Measurement(meta + data, meta + aligned);
  }

  /** Returns the bytes of the refcount table and blocks covering {@code clusters} clusters and themselves. */
  private static long refcountMetadata(long clusters, long cluster) {
    long perBlock = cluster * 8 / QCOW2_REFCOUNT_BITS;
    long perTableCluster = cluster / ENTRY;
    long table = 0;
    long blocks = 0;
    long n = 0;
    long last;
    do {
      last = n;
      blocks = ceilDiv(clusters + table + blocks, perBlock);
      table = ceilDiv(blocks, perTableCluster);
      n = clusters + blocks + table;
    } while (n != last);
    return (blocks + table) * cluster;
  }

  private static long roundUp(long v, long unit) {
    return ceilDiv(v, unit) * unit;
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }
}
