package io.vstore.cli;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageComparison;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageInfo;
import io.vstore.vdisk.ImageMap;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code vstore image ...}: work on image files directly, like qemu-img. */
@Command(
    name = "image",
    description = "Inspect, check, create, convert, compare, map, measure, resize, rebase and snapshot disk image files (like qemu-img).",
    mixinStandardHelpOptions = true,
    subcommands = {ImageCommand.Info.class, ImageCommand.Check.class, ImageCommand.Create.class,
        ImageCommand.Convert.class, ImageCommand.Compare.class, ImageCommand.MapCmd.class, ImageMeasure.class,
        ImageResize.class, ImageRebase.class, ImageSnapshot.class})
public final class ImageCommand {

  /** Parses qemu-img's {@code -o key=value,key=value}; repeated options accumulate. */
  static Map<String, String> options(List<String> raw) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String group : raw) {
      for (String kv : group.split(",")) {
        if (kv.isBlank()) {
          continue;
        }
        int eq = kv.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("bad option '" + kv + "': expected key=value");
        }
        out.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
      }
    }
    return out;
  }

  @Command(name = "info", description = "Show an image's format, sizes and backing file.")
  static final class Info implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The image file.") Path file;
    @Option(names = "-f", paramLabel = "FMT", description = "Format (default: detected from content).") String format;
    @Mixin OutputOptions output;
    @Option(names = "--backing-chain", description = "Show every image of the backing chain.") boolean chain;

    @Override
    public Integer call() throws Exception {
      try (DiskImage img = ImageFormats.open(file, format, true)) {
        if (!chain) {
          output.print(img.info(), (out, i) -> print(out, List.of(i)));
          return 0;
        }
        List<ImageInfo> infos = new ArrayList<>();
        for (DiskImage d : ImageFormats.chain(img)) {
          infos.add(d.info());
        }
        output.print(infos, Info::print);
      }
      return 0;
    }

    /** Prints {@code infos} as text, as qemu-img info does, a blank line between images. */
    static void print(PrintWriter out, List<ImageInfo> infos) {
      boolean first = true;
      for (ImageInfo i : infos) {
        if (!first) {
          out.println();
        }
        first = false;
        out.println("image: " + i.path());
        out.println("file format: " + i.format() + (i.subformat() != null ? " (" + i.subformat() + ")" : ""));
        out.println("virtual size: " + Sizes.format(i.virtualSize()) + " (" + i.virtualSize() + " bytes)");
        out.println("disk size: " + Sizes.format(i.allocatedSize()));
        if (i.clusterSize() > 0) {
          out.println("cluster_size: " + i.clusterSize());
        }
        if (i.backingFile() != null) {
          out.println("backing file: " + i.backingFile());
        }
        if (!i.details().isEmpty()) {
          out.println("Format specific information:");
          i.details().forEach((k, v) -> out.println("    " + k + ": " + v));
        }
      }
    }
  }

  @Command(name = "check", exitCodeOnExecutionException = 1,
      description = "Check an image's consistency, as qemu-img check: exit 0 clean, 1 the check could not run,"
          + " 2 corrupt, 3 leaked clusters only, 63 the format has nothing to check (raw).")
  static final class Check implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "FILE", description = "The image file.") Path file;
    @Option(names = "-f", paramLabel = "FMT", description = "Format (default: detected from content).") String format;
    @Mixin OutputOptions output;

    /** A check's outcome (qemu-img check's fields, in vstore's camelCase). */
    record Result(String filename, String format, int checkErrors, int corruptions, int leaks, boolean incomplete,
        List<String> corruptionDetails, List<String> leakDetails, int exitCode, @JsonIgnore CheckResult check) {
      Result(CheckResult r) {
        this(r.path(), r.format(), 0, r.corruptions().size(), r.leaks().size(), r.incomplete(), r.corruptions(),
            r.leaks(), r.exitCode(), r);
      }
    }

    /** qemu-img check's exit code for a format that has no structure to check. */
    static final int UNSUPPORTED = 63;

    @Override
    public Integer call() throws Exception {
      ImageFormat f = format == null ? ImageFormats.detect(file) : ImageFormats.byName(format);
      CheckResult r;
      try {
        r = f.check(file);
      } catch (UnsupportedFormatException e) {
        spec.commandLine().getErr().println("vstore: " + CommandLines.describe(e));
        spec.commandLine().getErr().flush();
        return UNSUPPORTED;
      }
      output.print(new Result(r), (out, result) -> print(out, result.check()));
      return r.exitCode();
    }

    /** Prints {@code r} as qemu-img check does. */
    static void print(PrintWriter out, CheckResult r) {
      r.corruptions().forEach(out::println);
      r.leaks().forEach(out::println);
      if (r.incomplete()) {
        out.println("The image was not completely written (an interrupted write).");
      }
      if (!r.corruptions().isEmpty()) {
        out.println();
        out.println(r.corruptions().size() + " errors were found on the image.");
        out.println("Data may be corrupted, or further writes to the image may corrupt it.");
      }
      if (!r.leaks().isEmpty()) {
        out.println();
        out.println(r.leaks().size() + " leaked clusters were found on the image.");
        out.println("This means waste of disk space, but no harm to data.");
      }
      if (r.exitCode() == 0) {
        out.println("No errors were found on the image.");
      }
    }
  }

  @Command(name = "create", description = "Create an empty image (or an overlay of a backing file).")
  static final class Create implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The image file to create.") Path file;
    @Parameters(index = "1", paramLabel = "SIZE", arity = "0..1",
        description = "Virtual size (4096, 512K, 10G); default: the backing file's size.") Long size;
    @Option(names = "-f", paramLabel = "FORMAT", defaultValue = "raw",
        description = "Format: raw, qcow2, vmdk, vpc, vhdx, vdi (default: ${DEFAULT-VALUE}).") String format;
    @Option(names = "-o", paramLabel = "KEY=VALUE,...", description = "Format options, as qemu-img's -o.")
    List<String> options = new ArrayList<>();
    @Option(names = "-b", paramLabel = "BACKING", description = "Backing file: the new image is an overlay of it.")
    String backing;
    @Option(names = "-F", paramLabel = "FMT", description = "Format of the backing file (default: detected).")
    String backingFormat;
    @Option(names = "--force", description = "Overwrite FILE if it exists.") boolean force;

    @Override
    public Integer call() throws Exception {
      if (size == null && backing == null) {
        throw new IllegalArgumentException("image create: SIZE is required without a backing file (-b)");
      }
      StdIo.checkOverwrite(file, force);
      Files.deleteIfExists(file);
      try (DiskImage img = ImageFormats.create(file, format, size == null ? -1 : size,
          new CreateOptions(options(options), backing, backingFormat))) {
        img.flush();
      }
      return 0;
    }
  }

  @Command(name = "convert", description = "Copy an image (and its chain) into a new image, sparse-preserving;"
      + " OUT '-' writes raw to stdout.")
  static final class Convert implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "IN", description = "The source image.") Path in;
    @Parameters(index = "1", paramLabel = "OUT", description = "The image to create, or '-' for stdout (raw).")
    Path out;
    @Option(names = "-f", paramLabel = "FMT", description = "Input format (default: detected).") String inFormat;
    @Option(names = "-O", paramLabel = "FORMAT", defaultValue = "raw",
        description = "Output format: raw, qcow2, vmdk, vpc, vhdx, vdi (default: ${DEFAULT-VALUE}, as qemu-img).")
    String outFormat;
    @Option(names = "-o", paramLabel = "KEY=VALUE,...", description = "Output format options, as qemu-img's -o.")
    List<String> options = new ArrayList<>();
    @Option(names = "-c", description = "Compress the output (formats that support it).") boolean compress;
    @Option(names = "-t", paramLabel = "CACHE", defaultValue = "unsafe",
        description = "Output cache mode: unsafe (default, as qemu-img convert: no sync at the end) or writeback"
            + " (sync before exit).") String cache;
    @Option(names = "--force", description = "Overwrite OUT if it exists.") boolean force;
    @Mixin ProgressOptions progressOptions;

    @Override
    public Integer call() throws Exception {
      if (StdIo.isStd(spec, "OUT")) {
        if (!ImageFormats.RAW.equals(outFormat) || compress) {
          throw new IllegalArgumentException("convert to '-' (stdout) writes raw only: drop -O " + outFormat
              + (compress ? " and -c" : ""));
        }
        try (DiskImage src = ImageFormats.open(in, inFormat, true);
            Progress progress = progressOptions.bar("convert " + in.getFileName(), src.size());
            OutputStream stdout = StdIo.out()) {
          streamRaw(src, stdout, progress);
        }
        return 0;
      }
      Path target = out;
      StdIo.checkOverwrite(target, force);
      Files.deleteIfExists(target);
      Map<String, String> o = options(options);
      if (compress) {
        o.put("compress", "on");
      }
      o.put(ImageConversion.CACHE, cache);
      Progress[] bar = new Progress[1];
      try {
        ImageConversion.convert(in, inFormat, target, outFormat, new CreateOptions(o, null, null), (total, done) -> {
          if (bar[0] == null) {
            bar[0] = progressOptions.bar("convert " + in.getFileName(), total);
          }
          bar[0].accept(done);
        });
      } finally {
        if (bar[0] != null) {
          bar[0].close();
        }
      }
      return 0;
    }

    /** Writes every byte of {@code src} in order to {@code out}, holes as zeros. */
    private static void streamRaw(DiskImage src, OutputStream out, Progress progress) throws IOException {
      int chunk = 4 << 20;
      ByteBuffer buf = ByteBuffer.allocate(chunk);
      for (long done = 0; done < src.size(); ) {
        int n = (int) Math.min(chunk, src.size() - done);
        buf.clear().limit(n);
        src.read(done, buf);
        out.write(buf.array(), 0, n);
        done += n;
        progress.accept(done);
      }
      out.flush();
    }
  }

  @Command(name = "compare", exitCodeOnExecutionException = 2,
      description = "Compare two images' guest contents, as qemu-img compare: exit 0 identical, 1 different, 2 error.")
  static final class Compare implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "A", description = "The first image.") Path a;
    @Parameters(index = "1", paramLabel = "B", description = "The second image.") Path b;
    @Option(names = "-f", paramLabel = "FMT", description = "Format of A (default: detected).") String formatA;
    @Option(names = "-F", paramLabel = "FMT", description = "Format of B (default: detected).") String formatB;

    @Override
    public Integer call() throws Exception {
      try (DiskImage da = ImageFormats.open(a, formatA, true); DiskImage db = ImageFormats.open(b, formatB, true)) {
        ImageComparison.Result r = ImageComparison.compare(da, db);
        PrintWriter out = spec.commandLine().getOut();
        if (da.size() != db.size()) {
          out.println("Warning: Image size mismatch!");
        }
        out.println(r.message());
        out.flush();
        return r.identical() ? 0 : 1;
      }
    }
  }

  @Command(name = "map", description = "Show an image's allocation: data, zero and hole extents.")
  static final class MapCmd implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The image file.") Path file;
    @Option(names = "-f", paramLabel = "FMT", description = "Format (default: detected from content).") String format;
    @Mixin OutputOptions output;

    /**
     * One extent of the map.
     *
     * @param offset first byte
     * @param length bytes
     * @param kind data, zero or hole
     * @param data whether the range may hold non-zero bytes
     * @param zero whether the range reads as zeros
     */
    record Extent(long offset, long length, String kind, boolean data, boolean zero) {}

    @Override
    public Integer call() throws Exception {
      try (DiskImage img = ImageFormats.open(file, format, true)) {
        List<Extent> map = new ArrayList<>();
        for (ImageMap.Entry e : ImageMap.of(img)) {
          map.add(new Extent(e.start(), e.length(), e.kind(), e.data(), e.zero()));
        }
        output.print(map, MapCmd::print);
      }
      return 0;
    }

    /** Prints {@code map} as a table with hexadecimal offsets, as qemu-img map does. */
    static void print(PrintWriter out, List<Extent> map) {
      out.printf("%-20s%-20s%s%n", "Offset", "Length", "Kind");
      for (Extent e : map) {
        out.printf("0x%-18x0x%-18x%s%n", e.offset(), e.length(), e.kind());
      }
    }
  }
}
