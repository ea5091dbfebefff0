package io.vstore.cli;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageComparison;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageInfo;
import io.vstore.vdisk.ImageMap;
import java.io.PrintWriter;
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
    description = "Inspect, check, create, convert, compare and map disk image files (like qemu-img).",
    mixinStandardHelpOptions = true,
    subcommands = {ImageCommand.Info.class, ImageCommand.Check.class, ImageCommand.Create.class,
        ImageCommand.Convert.class, ImageCommand.Compare.class, ImageCommand.MapCmd.class})
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
    @Parameters(index = "0", paramLabel = "FILE") Path file;
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

  @Command(name = "check", description = "Check an image's consistency. Exit 0 clean, 2 corrupt, 3 leaks only, 1 error.")
  static final class Check implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE") Path file;
    @Option(names = "-f", paramLabel = "FMT") String format;
    @Mixin OutputOptions output;

    /** A check's outcome under qemu-img check's JSON names. */
    record Result(String filename, String format, @JsonProperty("check-errors") int checkErrors,
        int corruptions, int leaks, boolean incomplete,
        @JsonProperty("corruption-details") List<String> corruptionDetails,
        @JsonProperty("leak-details") List<String> leakDetails, @JsonProperty("exit-code") int exitCode,
        @JsonIgnore CheckResult check) {
      Result(CheckResult r) {
        this(r.path(), r.format(), 0, r.corruptions().size(), r.leaks().size(), r.incomplete(), r.corruptions(),
            r.leaks(), r.exitCode(), r);
      }
    }

    @Override
    public Integer call() throws Exception {
      ImageFormat f = format == null ? ImageFormats.detect(file) : ImageFormats.byName(format);
      CheckResult r = f.check(file);
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
    @Parameters(index = "0", paramLabel = "FILE") Path file;
    @Parameters(index = "1", paramLabel = "SIZE", arity = "0..1",
        description = "Virtual size (4096, 512K, 10G); default: the backing file's size.") Long size;
    @Option(names = "-f", paramLabel = "FORMAT", required = true) String format;
    @Option(names = "-o", paramLabel = "KEY=VALUE,...") List<String> options = new ArrayList<>();
    @Option(names = "-b", paramLabel = "BACKING") String backing;
    @Option(names = "-F", paramLabel = "FMT") String backingFormat;

    @Override
    public Integer call() throws Exception {
      if (size == null && backing == null) {
        throw new IllegalArgumentException("image create: SIZE is required without a backing file (-b)");
      }
      try (DiskImage img = ImageFormats.create(file, format, size == null ? -1 : size,
          new CreateOptions(options(options), backing, backingFormat))) {
        img.flush();
      }
      return 0;
    }
  }

  @Command(name = "convert", description = "Copy an image (and its chain) into a new image, sparse-preserving.")
  static final class Convert implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "IN") Path in;
    @Parameters(index = "1", paramLabel = "OUT") Path out;
    @Option(names = "-f", paramLabel = "FMT", description = "Input format (default: detected).") String inFormat;
    @Option(names = "-O", paramLabel = "FORMAT", required = true) String outFormat;
    @Option(names = "-o", paramLabel = "KEY=VALUE,...") List<String> options = new ArrayList<>();
    @Option(names = "-c", description = "Compress the output (formats that support it).") boolean compress;
    @Option(names = "-t", paramLabel = "CACHE", defaultValue = "unsafe",
        description = "Output cache mode: unsafe (default, as qemu-img convert: no sync at the end) or writeback"
            + " (sync before exit).") String cache;

    @Override
    public Integer call() throws Exception {
      Map<String, String> o = options(options);
      if (compress) {
        o.put("compress", "on");
      }
      o.put(ImageConversion.CACHE, cache);
      ImageConversion.convert(in, inFormat, out, outFormat, new CreateOptions(o, null, null));
      return 0;
    }
  }

  @Command(name = "compare", description = "Compare two images' guest contents. Exit 0 identical, 1 different.")
  static final class Compare implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "A") Path a;
    @Parameters(index = "1", paramLabel = "B") Path b;
    @Option(names = "-f", paramLabel = "FMT") String formatA;
    @Option(names = "-F", paramLabel = "FMT") String formatB;

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
    @Parameters(index = "0", paramLabel = "FILE") Path file;
    @Option(names = "-f", paramLabel = "FMT") String format;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (DiskImage img = ImageFormats.open(file, format, true)) {
        output.print(ImageMap.of(img), MapCmd::print);
      }
      return 0;
    }

    /** Prints {@code map} as a table with hexadecimal offsets, as qemu-img map does. */
    static void print(PrintWriter out, List<ImageMap.Entry> map) {
      out.printf("%-20s%-20s%s%n", "Offset", "Length", "Kind");
      for (ImageMap.Entry e : map) {
        out.printf("0x%-18x0x%-18x%s%n", e.start(), e.length(), e.kind());
      }
    }
  }
}
