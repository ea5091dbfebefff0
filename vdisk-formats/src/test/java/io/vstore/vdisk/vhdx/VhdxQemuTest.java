package io.vstore.vdisk.vhdx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** VHDX images made by qemu and Hyper-V read through vstore, and vstore's images read by qemu. */
class VhdxQemuTest {
  static final VhdxFormat FORMAT = new VhdxFormat();
  static final ImageChainOpener CHAIN = ImageTesting.chainOf(FORMAT);

  @TempDir Path dir;

  private static final long[][] PATTERNS = {
      {0, 4096, 0x11}, {65536, 512, 0x22}, {3 << 20, 1 << 20, 0x33}, {(9 << 20) + 1536, 70000, 0x44},
      {(40L << 20) - 512, 512, 0x55}};

  @ParameterizedTest
  @ValueSource(strings = {"subformat=dynamic", "subformat=fixed", "subformat=dynamic,block_size=1M",
      "subformat=dynamic,block_state_zero=off", "subformat=dynamic,block_size=32M,log_size=2M"})
  void qemuWrittenImagesReadLikeQemuConvert(String opts) throws Exception {
    Path img = dir.resolve("q.vhdx");
    Path raw = ImageTesting.qemuWritten(img, "vhdx", opts, "40M", PATTERNS);
    // And vstore writes into qemu's image, qemu reads it.
    ImageTesting.assertReadsLikeQemuAndWritesBack(FORMAT, CHAIN, img, raw, 40L << 20, 17_000_001);
  }

  @ParameterizedTest
  @ValueSource(strings = {"dynamic", "fixed"})
  void vstoreWrittenImagesPassQemuCheckAndCompare(String subformat) throws Exception {
    ImageTesting.assertWrittenImageAgreesWithQemu(FORMAT, CHAIN, dir.resolve("v.vhdx"), 50L << 20,
        new CreateOptions(Map.of("subformat", subformat, "block_size", "1M"), null, null));
  }

  @Test
  void corpusHyperVDynamicImageReadsToTheCorpusDigest() throws Exception {
    Path img = Corpus.bunzip2(Corpus.file("disks/qemu-samples/iotest-dynamic-1G.vhdx.bz2"), dir.resolve("hv.vhdx"));
    try (DiskImage d = FORMAT.open(img, true, CHAIN)) {
      assertThat(d.size()).isEqualTo(1L << 30);
      assertThat(d.info().clusterSize()).isEqualTo(32L << 20);
      assertThat(d.info().details()).containsEntry("physicalSectorSize", 4096);
      assertThat(DeviceBytes.sha256(d)).isEqualTo("d3d112d8dab7fd360609f7d5a7b769904b7a2a7d7b6b8c535f65a23293c05478");
    }
    assertThat(FORMAT.check(img).exitCode()).isZero();
  }

  @Test
  void differencingChainReadsThroughParentAndChecksLinkage() throws Exception {
    Path base = dir.resolve("base.vhdx");
    Path child = dir.resolve("child.vhdx");
    Random r = new Random(7);
    byte[] model = new byte[24 << 20];
    QemuTool.ok("qemu-img", "create", "-q", "-f", "vhdx", base.toString(), String.valueOf(model.length));
    try (DiskImage d = FORMAT.open(base, false, CHAIN)) {
      byte[] data = new byte[6 << 20];
      r.nextBytes(data);
      ImageTesting.writeBoth(d, model, 1 << 20, data);
    }
    try (DiskImage d = FORMAT.create(child, 0, new CreateOptions(Map.of(), "base.vhdx", "vhdx"), CHAIN)) {
      assertThat(d.size()).isEqualTo(model.length);
      assertThat(d.info().subformat()).isEqualTo("differencing");
      ImageTesting.writeRandomly(d, model, r, 40, 100_000);
      ImageTesting.zeroBoth(d, model, 4 << 20, 2 << 20);
    }
    try (DiskImage d = FORMAT.open(child, true, CHAIN)) {
      byte[] back = ImageTesting.assertReadsAs(d, model);
      ImageTesting.assertZeroExtentsReadZeros(d, back);
      // Flattened by vstore into a dynamic VHDX, the chain compares identical in qemu.
      Path flat = dir.resolve("flat.vhdx");
      try (DiskImage out = FORMAT.create(flat, d.size(), CreateOptions.none(), CHAIN)) {
        ImageTesting.copyData(d, out);
      }
      Path raw = dir.resolve("model.raw");
      Files.write(raw, model);
      QemuTool.ok("qemu-img", "compare", "-f", "vhdx", "-F", "raw", flat.toString(), raw.toString());
    }
    assertThat(FORMAT.check(child).exitCode()).isZero();
    // Writing to the parent changes its data write GUID: the child no longer matches.
    try (DiskImage d = FORMAT.open(base, false, CHAIN)) {
      d.write(0, ByteBuffer.wrap(new byte[] {1}));
    }
    assertThatThrownBy(() -> FORMAT.open(child, true, CHAIN))
        .isInstanceOf(CorruptImageException.class).hasMessageContaining("parent_linkage");
  }
}
