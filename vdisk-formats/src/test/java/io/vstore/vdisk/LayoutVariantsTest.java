package io.vstore.vdisk;

import static io.vstore.vdisk.QemuTool.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.vdisk.LayoutVariant.Source;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The layout matrix: for every on-disk layout qemu-img can make of the six formats (see
 * {@link LayoutVariant#all()}), vstore must read exactly what qemu reads, qemu must accept what
 * vstore writes into that layout, and qemu must accept the layouts vstore creates itself.
 *
 * <p>With {@code CI=true} only the variants marked {@code ci} run; the others are reported as
 * skipped with the reason, never dropped silently.
 */
class LayoutVariantsTest {
  private static final boolean CI = "true".equals(System.getenv("CI"));

  @TempDir Path dir;

  /** Returns every variant of the matrix. */
  static Stream<LayoutVariant> variants() {
    return LayoutVariant.all().stream();
  }

  /** Returns the layouts vstore's own create and convert can make. */
  static Stream<LayoutVariant> creatableByVstore() {
    return variants().filter(v -> v.isCreatable() && v.optionsVstoreCannotCreate().isEmpty());
  }

  /** Returns the layouts vstore's create must refuse, naming the option it cannot honour. */
  static Stream<LayoutVariant> notCreatableByVstore() {
    return variants().filter(v -> v.isCreatable() && !v.optionsVstoreCannotCreate().isEmpty());
  }

  private static void reduceOnCi(LayoutVariant v) {
    Assumptions.assumeTrue(!CI || v.ci(), () -> "CI=true runs the reduced set; run without CI for " + v);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("variants")
  void vstoreReadsWhatQemuWrote(LayoutVariant v) {
    reduceOnCi(v);
    naming(v, () -> {
      Path img = qemuImage(v);
      long size = LayoutChecks.qemuVirtualSize(img, v.format());
      Path raw = qemuRaw(img, v.format(), "qemu.raw");
      List<LayoutChecks.MapEntry> map = LayoutChecks.qemuMap(img, v.format());
      try (DiskImage d = ImageFormats.open(img, v.format(), true)) {
        assertThat(d.size()).as("virtual size (qemu-img info says %d)", size).isEqualTo(size);
        // The map first: reading a raw file's preallocated (unwritten) extents puts them in the
        // page cache, after which SEEK_HOLE reports them as data.
        long granule = d.info().clusterSize() > 0 ? d.info().clusterSize() : 4096;
        List<String> allocation = LayoutChecks.allocationProblems(d, raw, map, granule);
        assertThat(LayoutChecks.firstDifference(d, raw))
            .as("first offset where vstore reads %s differently from qemu-img convert -O raw", img).isEqualTo(-1);
        assertThat(allocation).as("allocation of %s", img).isEmpty();
      }
      if (!v.format().equals(ImageFormats.RAW)) {
        assertCheckAgrees(img, v.format());
      }
      assertThat(ImageFormats.detect(img).name()).as("format detected from %s's content", img).isEqualTo(v.format());
    });
  }

  /**
   * Requires vstore's check to agree with qemu-img check: on qcow2 (where qemu counts leaks too)
   * in the exit code, elsewhere in whether there is corruption (qemu's vmdk, vhdx and vdi checks
   * do not look for leaks, which qemu itself makes, for example when zeroed_grain replaces a grain).
   * qemu has no vpc check, so there vstore must find no corruption.
   */
  private static void assertCheckAgrees(Path img, String fmt) throws Exception {
    CheckResult mine = ImageFormats.byName(fmt).check(img);
    if (!qemuChecks(fmt)) {
      assertThat(mine.exitCode()).as("vstore check of %s: %s", img, mine).isNotEqualTo(2);
      return;
    }
    QemuTool.Run theirs = QemuTool.run("qemu-img", "check", "-f", fmt, img.toString());
    String why = "vstore check of %s against qemu-img check (exit %d: %s): %s";
    if (fmt.equals("qcow2")) {
      assertThat(mine.exitCode()).as(why, img, theirs.exitCode(), theirs.stdout().strip(), mine)
          .isEqualTo(theirs.exitCode());
    } else {
      assertThat(mine.exitCode() == 2).as(why, img, theirs.exitCode(), theirs.stdout().strip(), mine)
          .isEqualTo(theirs.exitCode() == 2);
    }
  }

  /** What a test does with a variant; may throw anything. */
  private interface Body {
    void run() throws Exception;
  }

  /** Runs {@code body}, naming the variant in any failure (surefire's reports show only an index). */
  private static void naming(LayoutVariant v, Body body) {
    try {
      body.run();
    } catch (Exception | AssertionError e) {
      throw new AssertionError("[" + v + "] " + e, e);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("variants")
  void qemuAcceptsWhatVstoreWritesIntoTheLayout(LayoutVariant v) {
    reduceOnCi(v);
    naming(v, () -> writeInto(v));
  }

  private void writeInto(LayoutVariant v) throws Exception {
    Path img = qemuImage(v);
    if (v.source() == Source.CONVERT) {
      // A streamOptimized extent is write-once for qemu too (it refuses to overwrite a grain);
      // vstore writes the layout only by creating it, which the create tests cover.
      assertThatThrownBy(() -> ImageFormats.open(img, v.format(), false).close())
          .isInstanceOf(IOException.class).hasMessageContaining("streamOptimized");
      return;
    }
    long size = LayoutChecks.qemuVirtualSize(img, v.format());
    Path model = qemuRaw(img, v.format(), "model.raw");
    Path base = v.source() == Source.CHAIN ? dir.resolve("base." + extension(v.baseFormat())) : null;
    Path baseBefore = base == null ? null : qemuRaw(base, v.baseFormat(), "base-before.raw");
    try (DiskImage d = ImageFormats.open(img, v.format(), false);
        FileChannel m = FileChannel.open(model, StandardOpenOption.WRITE)) {
      for (LayoutOp op : LayoutOp.third(size)) {
        op.apply(d);
        op.apply(m);
      }
    }
    assertQemuAccepts(img, v.format(), model);
    if (!v.format().equals(ImageFormats.RAW)) {
      assertCheckAgrees(img, v.format());
    }
    if (base != null) {
      ok("qemu-img", "compare", "-q", "-f", "raw", "-F", v.baseFormat(), baseBefore.toString(), base.toString());
    }
    try (DiskImage d = ImageFormats.open(img, v.format(), true)) {
      assertThat(LayoutChecks.firstDifference(d, model)).as("vstore reading back its own writes").isEqualTo(-1);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("creatableByVstore")
  void qemuAcceptsTheLayoutVstoreCreates(LayoutVariant v) {
    reduceOnCi(v);
    naming(v, () -> create(v));
  }

  private void create(LayoutVariant v) throws Exception {
    long size = qemuSizeFor(v);
    Path model = dir.resolve("model.raw");
    try (RandomAccessFile m = new RandomAccessFile(model.toFile(), "rw")) {
      m.setLength(size);
    }
    Path img = dir.resolve("vstore." + extension(v.format()));
    List<LayoutOp> ops = new ArrayList<>();
    String backing = null;
    if (v.source() == Source.CHAIN) {
      Path base = dir.resolve("vbase." + extension(v.baseFormat()));
      try (DiskImage b = ImageFormats.create(base, v.baseFormat(), size, vstoreOptions(LayoutVariant.parse(v.baseOptions()), null));
          FileChannel m = FileChannel.open(model, StandardOpenOption.WRITE)) {
        for (LayoutOp op : LayoutOp.first(size)) {
          op.apply(b);
          op.apply(m);
        }
      }
      backing = base.getFileName().toString();
      ops.addAll(LayoutOp.second(size));
    } else {
      ops.addAll(LayoutOp.first(size));
    }
    ops.addAll(LayoutOp.third(size));
    CreateOptions options = vstoreOptions(v.optionMap(), v.source() == Source.COMPRESSED ? "on" : null);
    CreateOptions withBacking = new CreateOptions(options.options(), backing, backing == null ? null : v.baseFormat());
    try (DiskImage d = ImageFormats.create(img, v.format(), size, withBacking);
        FileChannel m = FileChannel.open(model, StandardOpenOption.WRITE)) {
      assertThat(d.size()).as("size vstore gives a %d-byte request (qemu gives %d)", v.size(), size).isEqualTo(size);
      for (LayoutOp op : ops) {
        op.apply(m);
      }
      if (d.sequentialWritesOnly()) {
        try (DiskImage source = ImageFormats.open(model, ImageFormats.RAW, true)) {
          ImageConversion.copy(source, d, 1);
        }
      } else {
        for (LayoutOp op : ops) {
          op.apply(d);
        }
      }
    }
    assertThat(LayoutChecks.qemuVirtualSize(img, v.format())).as("qemu's size of vstore's image").isEqualTo(size);
    assertQemuAccepts(img, v.format(), model);
    if (!v.format().equals(ImageFormats.RAW)) {
      assertCheckAgrees(img, v.format());
    }

    Path converted = dir.resolve("converted." + extension(v.format()));
    ImageConversion.convert(model, ImageFormats.RAW, converted, v.format(), options);
    assertQemuAccepts(converted, v.format(), model);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("notCreatableByVstore")
  void vstoreCreateRefusesWhatItCannotMake(LayoutVariant v) {
    reduceOnCi(v);
    naming(v, () -> refuse(v));
  }

  private void refuse(LayoutVariant v) throws Exception {
    Path img = dir.resolve("vstore." + extension(v.format()));
    String firstRefused = v.optionsVstoreCannotCreate().getFirst();
    assertThatThrownBy(() -> ImageFormats.create(img, v.format(), v.size(), vstoreOptions(v.optionMap(), null)).close())
        .as("vstore create with %s", firstRefused)
        .isInstanceOfAny(UnsupportedFormatException.class, IllegalArgumentException.class)
        .hasMessageContaining(firstRefused.substring(0, firstRefused.indexOf('=')));
    assertThat(img).doesNotExist();
  }

  /** Makes the variant's image with qemu-img and qemu-io, as {@link LayoutVariant.Source} says. */
  private Path qemuImage(LayoutVariant v) throws Exception {
    Path img = dir.resolve("img." + extension(v.format()));
    String fmt = v.format();
    switch (v.source()) {
      case QEMU_IO, SNAPSHOT, DIRTY, REWORKED -> {
        qemuCreate(fmt, v.options(dir), img, v.size());
        long size = LayoutChecks.qemuVirtualSize(img, fmt);
        if (v.source() == Source.DIRTY) {
          List<String> cmd = qemuIoCommand(img, fmt, LayoutOp.first(size));
          cmd.add(cmd.size() - 1, "-c");
          cmd.add(cmd.size() - 1, "abort");
          QemuTool.Run r = QemuTool.run(cmd.toArray(String[]::new));
          assertThat(r.exitCode()).as("qemu-io abort: %s", r.stderr()).isNotZero();
          assertThat(QemuTool.run("qemu-img", "check", "-q", "-f", fmt, img.toString()).exitCode())
              .as("qemu-img check of the aborted image (must be dirty to be worth testing)").isNotZero();
        } else {
          qemuIo(img, fmt, LayoutOp.first(size));
        }
        if (v.source() == Source.SNAPSHOT) {
          ok("qemu-img", "snapshot", "-c", "s1", img.toString());
          qemuIo(img, fmt, LayoutOp.second(size));
        }
        if (v.source() == Source.REWORKED) {
          List<String> cmd = new ArrayList<>(List.of("qemu-img"));
          for (String word : v.after().split(" ")) {
            cmd.add(word.equals("{img}") ? img.toString() : word);
          }
          ok(cmd.toArray(String[]::new));
          qemuIo(img, fmt, LayoutOp.second(LayoutChecks.qemuVirtualSize(img, fmt)));
        }
      }
      case CONVERT, COMPRESSED -> {
        Path src = dir.resolve("src.raw");
        qemuCreate(ImageFormats.RAW, "", src, v.size());
        long size = LayoutChecks.qemuVirtualSize(src, ImageFormats.RAW);
        qemuIo(src, ImageFormats.RAW, LayoutOp.first(size));
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "convert", "-q", "-f", "raw", "-O", fmt));
        if (v.source() == Source.COMPRESSED) {
          cmd.add("-c");
        }
        cmd.addAll(List.of("-o", v.options(dir), src.toString(), img.toString()));
        ok(cmd.toArray(String[]::new));
        if (v.source() == Source.COMPRESSED) {
          qemuIo(img, fmt, LayoutOp.second(size));
        }
      }
      case CHAIN -> {
        Path base = dir.resolve("base." + extension(v.baseFormat()));
        qemuCreate(v.baseFormat(), v.baseOptions(), base, v.size());
        long size = LayoutChecks.qemuVirtualSize(base, v.baseFormat());
        qemuIo(base, v.baseFormat(), LayoutOp.first(size));
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", fmt));
        if (!v.options().isEmpty()) {
          cmd.addAll(List.of("-o", v.options(dir)));
        }
        cmd.addAll(List.of("-b", base.getFileName().toString(), "-F", v.baseFormat(), img.toString()));
        ok(cmd.toArray(String[]::new));
        qemuIo(img, fmt, LayoutOp.second(size));
      }
    }
    return img;
  }

  /** Returns the size qemu-img gives an image of the variant's options and requested size. */
  private long qemuSizeFor(LayoutVariant v) throws Exception {
    String fmt = v.source() == Source.CHAIN ? v.baseFormat() : v.format();
    Path probeDir = Files.createDirectory(dir.resolve("size-probe"));
    Path probe = probeDir.resolve("probe." + extension(fmt));
    qemuCreate(fmt, v.source() == Source.CHAIN ? v.baseOptions() : v.options(probeDir), probe, v.size());
    return LayoutChecks.qemuVirtualSize(probe, fmt);
  }

  private void qemuCreate(String fmt, String options, Path img, long size) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", fmt));
    if (!options.isEmpty()) {
      cmd.addAll(List.of("-o", options));
    }
    cmd.addAll(List.of(img.toString(), Long.toString(size)));
    ok(cmd.toArray(String[]::new));
  }

  private List<String> qemuIoCommand(Path img, String fmt, List<LayoutOp> ops) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", fmt));
    for (LayoutOp op : ops) {
      cmd.add("-c");
      cmd.add(op.qemuIo(dir));
    }
    cmd.add(img.toString());
    return cmd;
  }

  private void qemuIo(Path img, String fmt, List<LayoutOp> ops) throws Exception {
    List<String> commands = new ArrayList<>();
    for (LayoutOp op : ops) {
      commands.add(op.qemuIo(dir));
    }
    QemuTool.qemuIo(img, fmt, commands.toArray(String[]::new));
  }

  /** Returns qemu-img convert -O raw of {@code img} as a file in the test directory. */
  private Path qemuRaw(Path img, String fmt, String name) throws Exception {
    Path raw = dir.resolve(name);
    ok("qemu-img", "convert", "-q", "-f", fmt, "-O", "raw", img.toString(), raw.toString());
    return raw;
  }

  /** Requires qemu-img check (where the format has one) clean and qemu-img compare equal to {@code model}. */
  private static void assertQemuAccepts(Path img, String fmt, Path model) throws Exception {
    if (qemuChecks(fmt)) {
      QemuTool.assertCheckClean(img, fmt);
    }
    QemuTool.Run r = QemuTool.run("qemu-img", "compare", "-f", "raw", "-F", fmt, model.toString(), img.toString());
    if (r.exitCode() != 0) {
      throw new AssertionError("qemu-img compare of the model with " + img + " exited " + r.exitCode() + ": "
          + r.stdout().strip() + r.stderr().strip());
    }
  }

  /** Returns whether qemu-img check supports {@code fmt} (raw and vpc have no check in qemu). */
  private static boolean qemuChecks(String fmt) {
    return !fmt.equals(ImageFormats.RAW) && !fmt.equals("vpc");
  }

  private static CreateOptions vstoreOptions(Map<String, String> qemuOptions, String compress) {
    Map<String, String> m = new HashMap<>(qemuOptions);
    if (compress != null) {
      m.put("compress", compress);
    }
    return new CreateOptions(m, null, null);
  }

  private static String extension(String fmt) {
    return fmt.equals("vpc") ? "vhd" : fmt;
  }
}
