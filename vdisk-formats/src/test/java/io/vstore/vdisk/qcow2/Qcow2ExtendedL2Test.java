package io.vstore.vdisk.qcow2;

import static io.vstore.vdisk.QemuTool.assertCheckClean;
import static io.vstore.vdisk.QemuTool.ok;
import static io.vstore.vdisk.QemuTool.qemuIo;
import static io.vstore.vdisk.QemuTool.rawContent;
import static io.vstore.vdisk.DeviceBytes.readAll;
import static io.vstore.vdisk.DeviceBytes.assertSameBytes;
import static io.vstore.vdisk.DeviceBytes.assertAllocationReadsTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Extended L2 entries ({@code extended_l2=on}: 32 subclusters per cluster) against the real
 * qemu-img and qemu-io: vstore reads what QEMU writes subcluster by subcluster, and what vstore
 * writes passes {@code qemu-img check} and {@code qemu-img compare}, alone and in chains with
 * plain images.
 */
class Qcow2ExtendedL2Test {
  @TempDir Path dir;

  /** Partial-subcluster writes, zero writes and discards at odd offsets, for a cluster size. */
  private static String[] qemuOps(int cs) {
    int sub = cs / 32;
    return new String[] {
        "write -P 0xab 1k 3k",
        "write -z 40k 8k",
        "write -P 0x11 " + (cs + sub / 2) + " " + (3 * sub),
        "write -P 0x22 " + (3 * cs - 700) + " 1400",
        "write -z " + (4 * cs + 100) + " " + (2 * sub),
        "write -P 0x33 " + (6 * cs) + " " + (2 * cs + 5),
        "discard " + (6 * cs + sub) + " " + (2 * sub),
        "write -z " + (7 * cs) + " " + cs,
        "write -P 0x44 " + (10 * cs - 1) + " 2",
        "write -P 0x55 5M 300k",
        "write -z -u 5200k 20k"};
  }

  private static void assertVstoreReadsAsQemu(Path img, Path scratch) throws Exception {
    byte[] expected = rawContent(img, "qcow2", scratch);
    try (DiskImage d = ImageFormats.open(img, true)) {
      byte[] actual = readAll(d);
      assertSameBytes(actual, expected, img.toString());
      assertAllocationReadsTrue(d, actual);
      Random r = new Random(expected.length);
      for (int i = 0; i < 300; i++) {
        int n = 1 + r.nextInt(70000);
        long off = r.nextLong(d.size() - n);
        ByteBuffer b = ByteBuffer.allocate(n);
        d.read(off, b);
        assertSameBytes(b.array(), Arrays.copyOfRange(expected, (int) off, (int) off + n), "fragment at " + off);
      }
    }
  }

  @ParameterizedTest(name = "cluster_size={0}")
  @ValueSource(ints = {16384, 65536, 2097152})
  void imagesWrittenByQemuIoReadBackAsQemuReadsThem(int clusterSize) throws Exception {
    Path img = dir.resolve("q.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=" + clusterSize,
        img.toString(), clusterSize < (1 << 20) ? "9M" : "30M");
    qemuIo(img, "qcow2", qemuOps(clusterSize));
    try (DiskImage d = ImageFormats.open(img, true)) {
      assertThat(d.info().details()).containsEntry("extended_l2", true);
      assertThat(d.info().clusterSize()).isEqualTo(clusterSize);
    }
    assertVstoreReadsAsQemu(img, dir);
    CheckResult c = new Qcow2Format().check(img);
    assertThat(c.corruptions()).isEmpty();
    assertThat(c.leaks()).isEmpty();
  }

  @ParameterizedTest(name = "created by {0}, cluster_size={1}")
  @CsvSource({"qemu,16384", "qemu,65536", "qemu,2097152", "vstore,16384", "vstore,65536", "vstore,2097152"})
  void imagesWrittenByVstorePassQemuCheckAndCompare(String creator, int clusterSize) throws Exception {
    Path img = dir.resolve("v.qcow2");
    long size = 12L << 20;
    String opts = "extended_l2=on,cluster_size=" + clusterSize;
    if (creator.equals("qemu")) {
      ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", opts, img.toString(), Long.toString(size));
    } else {
      ImageFormats.create(img, "qcow2", size, new CreateOptions(
          Map.of("extended_l2", "on", "cluster_size", Integer.toString(clusterSize)), null, null)).close();
      assertThat(ok("qemu-img", "info", img.toString())).contains("extended l2: true");
    }
    MemoryBlockDevice model = new MemoryBlockDevice("model", size);
    Random r = new Random(clusterSize + creator.hashCode());
    int sub = clusterSize / 32;
    try (DiskImage d = ImageFormats.open(img, false)) {
      for (int i = 0; i < 400; i++) {
        int op = r.nextInt(10);
        // sizes from a few bytes to a few subclusters, sometimes many clusters
        int n = 1 + (r.nextInt(4) == 0 ? r.nextInt(3 * clusterSize) : r.nextInt(3 * sub));
        long off = r.nextInt(3) == 0 ? (long) r.nextInt((int) (size / sub) - 4) * sub : r.nextLong(size - n);
        n = (int) Math.min(n, size - off);
        ModelOps.apply(d, model, r, op, 6, off, n);
      }
      assertSameBytes(readAll(d), readAll(model), "vstore reading its own writes");
    }
    ModelOps.assertQemuAccepts(img, model, dir.resolve("expected.raw"));
  }

  /** vstore's subcluster writes, then QEMU's on top, then vstore reads what QEMU reads. */
  @Test
  void qemuAndVstoreTakeTurnsOnOneImage() throws Exception {
    Path img = dir.resolve("t.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", img.toString(), "4M");
    qemuIo(img, "qcow2", "write -P 0x01 0 1k", "write -P 0x02 100k 3k");
    byte[] model = rawContent(img, "qcow2", dir);
    try (DiskImage d = ImageFormats.open(img, false)) {
      byte[] data = new byte[5000];
      Arrays.fill(data, (byte) 0x77);
      d.write(1500, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, model, 1500, data.length);
      d.writeZeroes(100 * 1024 + 512, 1024, false);
      Arrays.fill(model, 100 * 1024 + 512, 100 * 1024 + 1536, (byte) 0);
      d.discard(64 * 1024, 64 * 1024);
      Arrays.fill(model, 64 * 1024, 128 * 1024, (byte) 0);
    }
    assertCheckClean(img, "qcow2");
    assertSameBytes(rawContent(img, "qcow2", dir), model, "after vstore");
    qemuIo(img, "qcow2", "write -P 0x03 3k 2k", "write -z 0 512");
    assertVstoreReadsAsQemu(img, dir);
  }

  @ParameterizedTest(name = "base {0}, overlay {1}")
  @CsvSource({"plain,extended", "extended,plain", "extended,extended"})
  void chainsMixingExtendedAndPlainImagesReadAndWriteRight(String baseKind, String topKind) throws Exception {
    Path base = dir.resolve("base.qcow2");
    Path top = dir.resolve("top.qcow2");
    String baseOpts = baseKind.equals("extended") ? "extended_l2=on,cluster_size=32k" : "cluster_size=4k";
    String topOpts = topKind.equals("extended") ? "extended_l2=on" : "cluster_size=64k";
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", baseOpts, base.toString(), "6M");
    qemuIo(base, "qcow2", "write -P 0x11 0 2M", "write -P 0x12 3000 5000", "write -z 70k 3k", "write -P 0x13 4M 1M");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", topOpts, "-b", "base.qcow2", "-F", "qcow2", top.toString());
    // partial subclusters over backing data: QEMU copies the rest of each touched subcluster up
    qemuIo(top, "qcow2", "write -P 0x21 1k 1k", "write -z 9k 2k", "write -P 0x22 130k 70k", "discard 256k 64k",
        "write -z 4200k 6k");
    assertVstoreReadsAsQemu(top, dir);
    byte[] model = rawContent(top, "qcow2", dir);
    Random r = new Random(baseKind.hashCode() * 31 + topKind.hashCode());
    try (DiskImage d = ImageFormats.open(top, false)) {
      assertThat(ImageFormats.chain(d)).hasSize(2);
      for (int i = 0; i < 120; i++) {
        int n = 1 + r.nextInt(i % 5 == 0 ? 200_000 : 4000);
        long off = r.nextLong(d.size() - n);
        switch (r.nextInt(4)) {
          case 0 -> {
            d.writeZeroes(off, n, r.nextBoolean());
            Arrays.fill(model, (int) off, (int) off + n, (byte) 0);
          }
          case 1 -> {
            d.discard(off, n);
            Arrays.fill(model, (int) off, (int) off + n, (byte) 0);
          }
          default -> {
            byte[] data = new byte[n];
            r.nextBytes(data);
            d.write(off, ByteBuffer.wrap(data));
            System.arraycopy(data, 0, model, (int) off, n);
          }
        }
      }
    }
    assertCheckClean(top, "qcow2");
    Path expected = dir.resolve("expected.raw");
    Files.write(expected, model);
    ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", top.toString(), expected.toString());
    assertVstoreReadsAsQemu(top, dir);
  }

  @Test
  void overlayCreatedByVstoreWithExtendedEntriesOverPlainBase() throws Exception {
    Path base = dir.resolve("base.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", base.toString(), "3M");
    qemuIo(base, "qcow2", "write -P 0x5a 0 3M");
    byte[] model = rawContent(base, "qcow2", dir);
    Path top = dir.resolve("top.qcow2");
    try (DiskImage d = ImageFormats.create(top, "qcow2", -1,
        new CreateOptions(Map.of("extended_l2", "on", "cluster_size", "16k"), "base.qcow2", null))) {
      d.write(1000, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      model[1000] = 1;
      model[1001] = 2;
      model[1002] = 3;
      d.writeZeroes(20_000, 700, false);
      Arrays.fill(model, 20_000, 20_700, (byte) 0);
      d.discard(40_960, 4096);
      Arrays.fill(model, 40_960, 45_056, (byte) 0);
    }
    assertCheckClean(top, "qcow2");
    String info = ok("qemu-img", "info", top.toString());
    assertThat(info).contains("extended l2: true").contains("backing file: base.qcow2");
    Path expected = dir.resolve("expected.raw");
    Files.write(expected, model);
    ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", top.toString(), expected.toString());
    // only the touched subclusters were allocated: the rest of the cluster still comes from the base
    String map = ok("qemu-img", "map", "--output=json", top.toString());
    assertThat(map).contains("\"start\": 512, \"length\": 512, \"depth\": 0");
  }

  @ParameterizedTest
  @ValueSource(strings = {"zlib", "zstd"})
  void compressedClustersInExtendedImages(String compression) throws Exception {
    Path raw = dir.resolve("src.raw");
    Qcow2QemuInteropTest.writePatternedRaw(raw, 4 << 20);
    Path byQemu = dir.resolve("q.qcow2");
    ok("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o",
        "extended_l2=on,compression_type=" + compression, raw.toString(), byQemu.toString());
    try (DiskImage d = ImageFormats.open(byQemu, true)) {
      assertSameBytes(readAll(d), Files.readAllBytes(raw), "compressed by qemu");
    }
    Path byVstore = dir.resolve("v.qcow2");
    ImageConversion.convert(raw, "raw", byVstore, "qcow2", new CreateOptions(
        Map.of("compress", "on", "extended_l2", "on", "compression_type", compression), null, null));
    assertCheckClean(byVstore, "qcow2");
    ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", byVstore.toString(), raw.toString());
    byte[] model = Files.readAllBytes(raw);
    for (Path img : new Path[] {byQemu, byVstore}) {
      try (DiskImage d = ImageFormats.open(img, false)) {
        // a partial write into a compressed cluster turns it into a plain one; zeroing part of one too
        d.write(131072 + 100, ByteBuffer.wrap(new byte[] {9, 9, 9}));
        d.writeZeroes(3 * 65536 + 4096, 8192, true);
        d.writeZeroes(5 * 65536, 65536, true);
      }
      assertCheckClean(img, "qcow2");
    }
    Arrays.fill(model, 131072 + 100, 131072 + 103, (byte) 9);
    Arrays.fill(model, 3 * 65536 + 4096, 3 * 65536 + 12288, (byte) 0);
    Arrays.fill(model, 5 * 65536, 6 * 65536, (byte) 0);
    Path expected = dir.resolve("expected.raw");
    Files.write(expected, model);
    ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", byQemu.toString(), expected.toString());
    ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", byVstore.toString(), expected.toString());
  }

  @Test
  void createRefusesWhatQemuRefuses() {
    assertThatThrownBy(() -> ImageFormats.create(dir.resolve("a.qcow2"), "qcow2", 1 << 20,
        new CreateOptions(Map.of("extended_l2", "on", "cluster_size", "4096"), null, null)))
        .isInstanceOf(UnsupportedFormatException.class).hasMessageContaining("cluster_size=4096");
    assertThatThrownBy(() -> ImageFormats.create(dir.resolve("b.qcow2"), "qcow2", 1 << 20,
        new CreateOptions(Map.of("extended_l2", "on", "compat", "0.10"), null, null)))
        .isInstanceOf(UnsupportedFormatException.class).hasMessageContaining("compat=0.10");
  }
}
