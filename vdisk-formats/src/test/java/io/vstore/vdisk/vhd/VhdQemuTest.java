package io.vstore.vdisk.vhd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.Corpus;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DeviceBytes;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageTesting;
import io.vstore.vdisk.QemuTool;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** VHD images made by qemu read back through vstore, and images vstore writes read by qemu. */
class VhdQemuTest {
  static final VhdFormat FORMAT = new VhdFormat();
  static final ImageChainOpener CHAIN = ImageTesting.chainOf(FORMAT);

  @TempDir Path dir;

  private static final long[][] PATTERNS = {
      {0, 4096, 0x11}, {65536, 512, 0x22}, {3 << 20, 1 << 20, 0x33}, {(5 << 20) + 1536, 70000, 0x44},
      {(20L << 20) - 512, 512, 0x55}};

  @ParameterizedTest
  @ValueSource(strings = {"dynamic", "fixed"})
  void qemuWrittenImagesReadLikeQemuConvert(String subformat) throws Exception {
    Path img = dir.resolve("q.vhd");
    Path raw = ImageTesting.qemuWritten(img, "vpc", "subformat=" + subformat, "20M", PATTERNS);
    try (DiskImage d = FORMAT.open(img, true, CHAIN)) {
      assertThat(d.size()).isEqualTo(Files.size(raw));
      assertThat(DeviceBytes.sha256(d)).isEqualTo(DeviceBytes.sha256(raw));
      assertThat(d.info().subformat()).isEqualTo(subformat);
    }
    assertThat(FORMAT.check(img).exitCode()).isZero();
  }

  @Test
  void virtualSizeAgreesWithQemuForManySizesAndCreators() throws Exception {
    long[] sizes = {1 << 20, 10 << 20, 64L << 20, 1000L * 1000 * 1000, 130L << 30};
    for (long size : sizes) {
      for (String force : List.of("off", "on")) {
        Path q = dir.resolve("q-" + size + force + ".vhd");
        QemuTool.ok("qemu-img", "create", "-q", "-f", "vpc", "-o", "force_size=" + force, q.toString(), String.valueOf(size));
        Path v = dir.resolve("v-" + size + force + ".vhd");
        long qemuSize = qemuVirtualSize(q);
        try (DiskImage d = FORMAT.open(q, true, CHAIN)) {
          assertThat(d.size()).as("qemu-made %d force_size=%s", size, force).isEqualTo(qemuSize);
        }
        try (DiskImage d = FORMAT.create(v, size, new CreateOptions(Map.of("force_size", force), null, null), CHAIN)) {
          assertThat(d.size()).as("vstore-made %d force_size=%s", size, force).isEqualTo(qemuSize);
        }
        assertThat(qemuVirtualSize(v)).isEqualTo(qemuSize);
      }
    }
  }

  static long qemuVirtualSize(Path img) throws Exception {
    String json = QemuTool.ok("qemu-img", "info", "-f", "vpc", "--output=json", img.toString());
    var m = java.util.regex.Pattern.compile("\"virtual-size\":\\s*(\\d+)").matcher(json);
    assertThat(m.find()).as(json).isTrue();
    return Long.parseLong(m.group(1));
  }

  @ParameterizedTest
  @ValueSource(strings = {"dynamic", "fixed"})
  void vstoreWrittenImagesCompareIdenticalInQemu(String subformat) throws Exception {
    Path img = dir.resolve("v.vhd");
    Path raw = dir.resolve("v.raw");
    Random r = new Random(42);
    long size;
    try (DiskImage d = FORMAT.create(img, 24L << 20, new CreateOptions(Map.of("subformat", subformat), null, null), CHAIN)) {
      size = d.size();
      byte[] model = new byte[(int) size];
      ImageTesting.writeRandomly(d, model, r, 40, 300_000);
      ImageTesting.zeroBoth(d, model, 4 << 20, 2 << 20);
      Files.write(raw, model);
    }
    QemuTool.ok("qemu-img", "compare", "-f", "vpc", "-F", "raw", img.toString(), raw.toString());
    CheckResult check = FORMAT.check(img);
    assertThat(check.corruptions()).isEmpty();
    try (DiskImage d = FORMAT.open(img, true, CHAIN)) {
      assertThat(DeviceBytes.sha256(d)).isEqualTo(DeviceBytes.sha256(raw));
    }
  }

  @Test
  void differencingChainReadsThroughParentAndChecksUuid() throws Exception {
    Path base = dir.resolve("base.vhd");
    Path child = dir.resolve("child.vhd");
    Random r = new Random(7);
    byte[] model;
    try (DiskImage d = FORMAT.create(base, 16L << 20, CreateOptions.none(), CHAIN)) {
      model = new byte[(int) d.size()];
      byte[] data = new byte[6 << 20];
      r.nextBytes(data);
      ImageTesting.writeBoth(d, model, 1 << 20, data);
    }
    try (DiskImage d = FORMAT.create(child, 0, new CreateOptions(Map.of(), "base.vhd", "vpc"), CHAIN)) {
      assertThat(d.size()).isEqualTo(model.length);
      assertThat(d.info().subformat()).isEqualTo("differencing");
      assertThat(d.backing()).isPresent();
      ImageTesting.writeRandomly(d, model, r, 30, 100_000);
    }
    try (DiskImage d = FORMAT.open(child, true, CHAIN)) {
      byte[] back = ImageTesting.assertReadsAs(d, model);
      // allocation is consistent with content across the chain
      ImageTesting.assertZeroExtentsReadZeros(d, back);
      assertThat(d.info().backingFile()).isEqualTo(base.toString());
    }
    assertThat(FORMAT.check(child).exitCode()).isZero();
    // Moving the pair keeps the chain: the relative locator is tried first.
    Path moved = Files.createDirectory(dir.resolve("moved"));
    Files.move(base, moved.resolve("base.vhd"));
    Files.move(child, moved.resolve("child.vhd"));
    try (DiskImage d = FORMAT.open(moved.resolve("child.vhd"), true, CHAIN)) {
      ImageTesting.assertReadsAs(d, model);
    }
    // A different disk in the parent's place is refused by its unique id.
    Files.delete(moved.resolve("base.vhd"));
    FORMAT.create(moved.resolve("base.vhd"), 16L << 20, CreateOptions.none(), CHAIN).close();
    assertThatThrownBy(() -> FORMAT.open(moved.resolve("child.vhd"), true, CHAIN))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("unique id")
        .hasMessageContaining("child.vhd");
  }

  @Test
  void differencingChainFlattensToWhatQemuReadsFromTheParentPlusWrites() throws Exception {
    // qemu-img cannot create or read vpc differencing disks; round-trip through qemu the other way:
    // qemu writes the parent, vstore layers a child on it, and the flattened child converted by
    // vstore into a dynamic VHD compares identical in qemu to qemu's parent plus the same writes.
    Path base = dir.resolve("qbase.vhd");
    QemuTool.ok("qemu-img", "create", "-q", "-f", "vpc", base.toString(), "12M");
    List<String> io = new ArrayList<>(List.of("qemu-io", "-f", "vpc"));
    io.addAll(QemuTool.qemuIoWrites(new long[][] {{0, 1 << 20, 0x61}, {5 << 20, 3 << 20, 0x62}}));
    io.add(base.toString());
    QemuTool.ok(io.toArray(String[]::new));
    Path child = dir.resolve("child.vhd");
    Path flat = dir.resolve("flat.vhd");
    try (DiskImage d = FORMAT.create(child, 0, new CreateOptions(Map.of(), base.toString(), null), CHAIN)) {
      d.write(512 * 1000 + 7, ByteBuffer.wrap(ImageTesting.filled(9000, 0x71)));
      d.write(6 << 20, ByteBuffer.wrap(ImageTesting.filled(1 << 20, 0x72)));
      try (DiskImage out = FORMAT.create(flat, d.size(), CreateOptions.none(), CHAIN)) {
        assertThat(out.size()).isEqualTo(d.size());
        ImageTesting.copyData(d, out);
      }
    }
    Path expected = dir.resolve("expected.vhd");
    QemuTool.ok("qemu-img", "convert", "-f", "vpc", "-O", "vpc", base.toString(), expected.toString());
    QemuTool.ok("qemu-io", "-f", "vpc", "-c", "write -P 0x71 " + (512 * 1000 + 7) + " 9000",
        "-c", "write -P 0x72 " + (6 << 20) + " " + (1 << 20), expected.toString());
    QemuTool.ok("qemu-img", "compare", "-f", "vpc", "-F", "vpc", flat.toString(), expected.toString());
  }

  @Test
  void corpusDisk2vhdReadsToTheCorpusDigest() throws Exception {
    Path img = Corpus.bunzip2(Corpus.file("disks/qemu-samples/d2v-zerofilled.vhd.bz2"), dir.resolve("d2v.vhd"));
    try (DiskImage d = FORMAT.open(img, true, CHAIN)) {
      assertThat(d.size()).isEqualTo(263454720L);
      assertThat(DeviceBytes.sha256(d)).isEqualTo("1ba076be94a8a64541c25aae8d5a5f8b0da758c3797af597e03acb431ff8d143");
    }
  }

  @Test
  void corpusAfl5IsRefusedWithoutAHugeAllocation() {
    Path img = Corpus.file("disks/qemu-samples/afl5.img");
    assertThatThrownBy(() -> FORMAT.open(img, true, CHAIN))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("Max Table Entries too large")
        .hasMessageContaining("afl5.img");
  }
}
