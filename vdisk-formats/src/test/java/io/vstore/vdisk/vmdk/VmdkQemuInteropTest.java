package io.vstore.vdisk.vmdk;

import static io.vstore.vdisk.vmdk.VmdkTesting.FORMAT;
import static io.vstore.vdisk.vmdk.VmdkTesting.chain;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DeviceBytes;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.QemuTool;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** VMDK images exchanged with qemu-img and qemu-io in both directions, including delta chains. */
class VmdkQemuInteropTest {
  /** 70 MiB and 3 sectors: three grain tables, a ragged last grain. */
  private static final long SIZE = (70L << 20) + 3 * 512;
  private static final String[] PATTERN = {
    "write -P 0x11 0 65536", "write -P 0x22 100000 200000", "write -P 0x33 33554000 1000", "write -P 0x44 67108864 4096",
    "write -P 0x55 " + (SIZE - 1536) + " 1536",
  };

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"})
  void readsWhatQemuWrote(String subformat) throws Exception {
    Path p = dir.resolve("q.vmdk");
    QemuTool.ok("qemu-img", "create", "-f", "vmdk", "-o", "subformat=" + subformat, p.toString(), Long.toString(SIZE));
    QemuTool.qemuIo(p, "vmdk", PATTERN);
    try (DiskImage image = VmdkTesting.open(p)) {
      assertThat(image.size()).isEqualTo(SIZE);
      assertThat(image.info().subformat()).isEqualTo(subformat);
      assertSame(DeviceBytes.readAll(image), QemuTool.rawContent(p, "vmdk", dir), subformat);
    }
    assertThat(FORMAT.check(p).corruptions()).isEmpty();
  }

  @Test
  void readsQemuZeroedGrains() throws Exception {
    Path p = dir.resolve("z.vmdk");
    QemuTool.ok("qemu-img", "create", "-f", "vmdk", "-o", "zeroed_grain=on", p.toString(), Long.toString(SIZE));
    QemuTool.qemuIo(p, "vmdk", "write -P 0x66 0 1048576", "write -z 65536 131072", "write -z 5242880 65536");
    try (DiskImage image = VmdkTesting.open(p)) {
      assertSame(DeviceBytes.readAll(image), QemuTool.rawContent(p, "vmdk", dir), "zeroed grains");
      assertThat(image.allocation(65536, 131072)).allSatisfy(e -> assertThat(e.kind().readsAsZeros()).isTrue());
    }
  }

  @Test
  void readsQemuStreamOptimized() throws Exception {
    Path raw = dir.resolve("src.raw");
    writeRawPattern(raw, SIZE, 7);
    Path p = dir.resolve("so.vmdk");
    QemuTool.ok("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw.toString(), p.toString());
    try (DiskImage image = VmdkTesting.open(p)) {
      assertSame(DeviceBytes.readAll(image), Files.readAllBytes(raw), "qemu streamOptimized");
      assertThat(image.isReadOnly()).isTrue();
    }
    assertThat(FORMAT.check(p).exitCode()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "streamOptimized"})
  void qemuAcceptsWhatVstoreWrote(String subformat) throws Exception {
    Path p = dir.resolve("v.vmdk");
    byte[] expected = new byte[(int) SIZE];
    Random r = new Random(subformat.hashCode());
    try (DiskImage image = FORMAT.create(p, SIZE, new CreateOptions(Map.of("subformat", subformat, "adapter_type", "lsilogic",
        "hwversion", "6"), null, null), chain())) {
      assertThat(image.sequentialWritesOnly()).isEqualTo(subformat.equals("streamOptimized"));
      long pos = 0;
      while (pos < SIZE) {
        int n = (int) Math.min(SIZE - pos, 1 + r.nextInt(300_000));
        if (r.nextInt(3) > 0) {
          byte[] data = new byte[n];
          if (r.nextBoolean()) {
            r.nextBytes(data);
          } else {
            java.util.Arrays.fill(data, (byte) r.nextInt(256));
          }
          image.write(pos, ByteBuffer.wrap(data));
          System.arraycopy(data, 0, expected, (int) pos, n);
        }
        pos += n + r.nextInt(200_000);
      }
    }
    Path raw = dir.resolve("expected.raw");
    Files.write(raw, expected);
    assertThat(QemuTool.ok("qemu-img", "check", "-f", "vmdk", p.toString())).contains("No errors");
    QemuTool.ok("qemu-img", "compare", "-f", "vmdk", "-F", "raw", p.toString(), raw.toString());
    String info = QemuTool.ok("qemu-img", "info", "-f", "vmdk", p.toString());
    assertThat(info).contains("create type: " + subformat);
    try (DiskImage again = VmdkTesting.open(p)) {
      assertThat(again.info().details()).containsEntry("ddb.adapterType", "lsilogic").containsEntry("ddb.virtualHWVersion", "6");
    }
    try (DiskImage again = VmdkTesting.open(p)) {
      assertSame(DeviceBytes.readAll(again), expected, "reopened " + subformat);
    }
    assertThat(FORMAT.check(p).exitCode()).isZero();
  }

  @Test
  void qemuDeltaChainReadsInVstore() throws Exception {
    Path base = dir.resolve("base.vmdk");
    Path child = dir.resolve("child.vmdk");
    QemuTool.ok("qemu-img", "create", "-f", "vmdk", base.toString(), Long.toString(SIZE));
    QemuTool.qemuIo(base, "vmdk", PATTERN);
    QemuTool.ok("qemu-img", "create", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", child.toString());
    QemuTool.qemuIo(child, "vmdk", "write -P 0x77 1000 3000", "write -P 0x88 33554000 70000");
    try (DiskImage image = VmdkTesting.open(child)) {
      assertThat(image.backing()).isPresent();
      assertThat(image.info().backingFile()).isEqualTo("base.vmdk");
      assertSame(DeviceBytes.readAll(image), QemuTool.rawContent(child, "vmdk", dir), "qemu child");
      assertThat(image.allocation(0, SIZE)).isNotEmpty();
    }
  }

  @Test
  void vstoreDeltaChainReadsInQemuAndDetectsAChangedParent() throws Exception {
    Path base = dir.resolve("base.vmdk");
    Path child = dir.resolve("child.vmdk");
    byte[] expected = new byte[(int) SIZE];
    Random r = new Random(11);
    try (DiskImage image = FORMAT.create(base, SIZE, new CreateOptions(Map.of(), null, null), chain())) {
      byte[] data = new byte[5 << 20];
      r.nextBytes(data);
      image.write(1 << 20, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, expected, 1 << 20, data.length);
    }
    try (DiskImage image = FORMAT.create(child, 0, new CreateOptions(Map.of(), "base.vmdk", "vmdk"), chain())) {
      assertThat(image.size()).isEqualTo(SIZE);
      byte[] data = new byte[100_000];
      r.nextBytes(data);
      image.write(3_000_000, ByteBuffer.wrap(data)); // partial grains over parent data
      System.arraycopy(data, 0, expected, 3_000_000, data.length);
      image.writeZeroes(2 << 20, 65536, true); // zeros over parent data must stay zeros
      java.util.Arrays.fill(expected, 2 << 20, (2 << 20) + 65536, (byte) 0);
      assertSame(DeviceBytes.readAll(image), expected, "vstore child before close");
    }
    Path raw = dir.resolve("expected.raw");
    Files.write(raw, expected);
    assertThat(QemuTool.ok("qemu-img", "check", "-f", "vmdk", child.toString())).contains("No errors");
    QemuTool.ok("qemu-img", "compare", "-f", "vmdk", "-F", "raw", child.toString(), raw.toString());
    assertThat(QemuTool.ok("qemu-img", "info", "-f", "vmdk", child.toString())).contains("backing file: base.vmdk");

    // A write to the parent gives it a new CID; the child must now refuse to open.
    try (DiskImage parent = FORMAT.open(base, false, chain())) {
      parent.write(0, ByteBuffer.wrap(new byte[] {1}));
    }
    assertThatThrownBy(() -> VmdkTesting.open(child)).isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("parentCID").hasMessageContaining("child.vmdk");
  }

  @Test
  void splitSubformatsMakeTwoGibExtentsLikeQemu() throws Exception {
    long size = (5L << 30) + 512;
    Path p = dir.resolve("big.vmdk");
    try (DiskImage image = FORMAT.create(p, size, new CreateOptions(Map.of("subformat", "twoGbMaxExtentFlat"), null, null), chain())) {
      image.write(size - 1, ByteBuffer.wrap(new byte[] {9}));
      image.write((2L << 30) - 2, ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
      assertThat(image.info().extents()).hasSize(3);
    }
    Descriptor d = Descriptor.parse(Files.readString(p), p.toString());
    assertThat(d.extents()).extracting(ExtentLine::sectors).containsExactly(4194304L, 4194304L, 2097153L);
    assertThat(d.extents()).extracting(ExtentLine::fileName).containsExactly("big-f001.vmdk", "big-f002.vmdk", "big-f003.vmdk");
    String out = QemuTool.qemuIo(p, "vmdk", "read -P 1 " + ((2L << 30) - 2) + " 1", "read -P 4 " + ((2L << 30) + 1) + " 1",
        "read -P 9 " + (size - 1) + " 1", "read -P 0 " + (4L << 30) + " 65536");
    assertThat(out).doesNotContain("fail").contains("read 65536/65536");
  }

  static void writeRawPattern(Path raw, long size, long seed) throws Exception {
    Random r = new Random(seed);
    try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(1), size - 1);
      List<long[]> runs = new ArrayList<>();
      for (long pos = 0; pos < size; pos += 1 << 20) {
        runs.add(new long[] {pos, Math.min(1 << 20, size - pos)});
      }
      for (long[] run : runs) {
        byte[] data = new byte[(int) run[1]];
        switch (r.nextInt(4)) {
          case 0 -> r.nextBytes(data);
          case 1 -> java.util.Arrays.fill(data, (byte) 'x');
          case 2 -> {
            for (int i = 0; i < data.length; i++) {
              data[i] = (byte) ("vstore line " + (i / 40)).charAt(i % 12);
            }
          }
          default -> { }
        }
        ch.write(ByteBuffer.wrap(data), run[0]);
      }
    }
  }

  private static void assertSame(byte[] actual, byte[] expected, String what) {
    assertThat(actual.length).as(what + " length").isEqualTo(expected.length);
    int at = java.util.Arrays.mismatch(actual, expected);
    assertThat(at).as("%s: first difference at byte %d", what, at).isEqualTo(-1);
  }
}
