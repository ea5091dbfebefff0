package io.vstore.vdisk.qcow2;

import static io.vstore.vdisk.DeviceBytes.assertSameBytes;
import static io.vstore.vdisk.QemuTool.assertCheckClean;
import static io.vstore.vdisk.QemuTool.ok;
import static io.vstore.vdisk.QemuTool.qemuIo;
import static io.vstore.vdisk.QemuTool.rawContent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.QemuPresence;
import io.vstore.vdisk.UnsupportedFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code image resize} of qcow2 (and the refusals for formats qemu-img cannot resize), checked
 * with qemu-img on the same files: check clean, the virtual size qemu-img info reports, and the
 * content qemu reads (old data kept, new space zeros, data past a shrink gone for good).
 */
class Qcow2ResizeQemuTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  @BeforeAll
  static void needsQemu() throws Exception {
    QemuPresence.assumeQemuImg();
  }

  private static ImageFormat qcow2() throws Exception {
    return ImageFormats.byName("qcow2");
  }

  private static long virtualSize(Path img) throws Exception {
    String json = ok("qemu-img", "info", "--output=json", img.toString());
    String v = json.replaceAll("(?s).*\"virtual-size\": (\\d+).*", "$1");
    return Long.parseLong(v);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"compat=1.1", "compat=0.10", "cluster_size=512", "compat=0.10,cluster_size=512",
      "extended_l2=on", "refcount_bits=1,cluster_size=4k"})
  void growsAndShrinksAsQemuReadsIt(String options) throws Exception {
    Path img = dir.resolve("r.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", options, img.toString(), "4M");
    qemuIo(img, "qcow2", "write -P 0x61 0 4M");
    byte[] model = rawContent(img, "qcow2", dir);

    qcow2().resize(img, 64L * MIB, false); // with 512-byte clusters, the L1 table must grow
    assertCheckClean(img, "qcow2");
    assertThat(virtualSize(img)).isEqualTo(64L * MIB);
    model = Arrays.copyOf(model, 64 * MIB);
    assertSameBytes(rawContent(img, "qcow2", dir), model, "after growing: old data, then zeros");
    qemuIo(img, "qcow2", "write -P 0x62 60M 1M");
    Arrays.fill(model, 60 * MIB, 61 * MIB, (byte) 0x62);
    assertCheckClean(img, "qcow2");

    assertThatThrownBy(() -> qcow2().resize(img, 3L * MIB, false)).hasMessageContaining("--shrink");
    long small = 3L * MIB + 512; // not cluster-aligned: the tail of the last cluster must not come back
    qcow2().resize(img, small, true);
    assertCheckClean(img, "qcow2");
    assertThat(virtualSize(img)).isEqualTo(small);
    assertSameBytes(rawContent(img, "qcow2", dir), Arrays.copyOf(model, (int) small), "after shrinking");

    qcow2().resize(img, 8L * MIB, false);
    assertCheckClean(img, "qcow2");
    byte[] expected = Arrays.copyOf(Arrays.copyOf(model, (int) small), 8 * MIB);
    assertSameBytes(rawContent(img, "qcow2", dir), expected, "growing again shows zeros, not the old data");
    assertThat(ok("qemu-img", "check", img.toString())).doesNotContain("leaked");
  }

  @Test
  void version3ImagesWithSnapshotsResizeAndTheSnapshotsKeepTheirSize() throws Exception {
    Path img = dir.resolve("s.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", img.toString(), "4M");
    qemuIo(img, "qcow2", "write -P 0x71 0 4M");
    byte[] before = rawContent(img, "qcow2", dir);
    Qcow2Snapshots.create(img, "before");
    qcow2().resize(img, 2L * MIB, true);
    assertCheckClean(img, "qcow2");
    qcow2().resize(img, 32L * MIB, false);
    assertCheckClean(img, "qcow2");
    assertThat(virtualSize(img)).isEqualTo(32L * MIB);
    Qcow2Snapshots.apply(img, "before");
    assertCheckClean(img, "qcow2");
    assertThat(virtualSize(img)).isEqualTo(4L * MIB);
    assertSameBytes(rawContent(img, "qcow2", dir), before, "the snapshot after resizing around it");
  }

  @Test
  void version2ImagesWithSnapshotsAreRefusedAsQemuDoes() throws Exception {
    Path img = dir.resolve("v2.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", img.toString(), "4M");
    ok("qemu-img", "snapshot", "-c", "s", img.toString());
    byte[] before = Files.readAllBytes(img);
    assertThatThrownBy(() -> qcow2().resize(img, 8L * MIB, false))
        .isInstanceOf(UnsupportedFormatException.class).hasMessageContaining("version 2 image with snapshots");
    assertThat(Files.readAllBytes(img)).isEqualTo(before);
  }

  @Test
  void growingOverALongerBackingFileShowsZerosNotTheBackingData() throws Exception {
    Path base = dir.resolve("base.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", base.toString(), "8M");
    qemuIo(base, "qcow2", "write -P 0x33 0 8M");
    Path top = dir.resolve("top.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top.toString(), "4M");
    qcow2().resize(top, 8L * MIB, false);
    assertCheckClean(top, "qcow2");
    byte[] expected = new byte[8 * MIB];
    Arrays.fill(expected, 0, 4 * MIB, (byte) 0x33);
    assertSameBytes(rawContent(top, "qcow2", dir), expected, "grown overlay");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"vpc", "vhdx", "vdi", "vmdk"})
  void formatsQemuImgCannotResizeAreRefusedByName(String format) throws Exception {
    Path img = dir.resolve("x." + format);
    ok("qemu-img", "create", "-q", "-f", format, img.toString(), "4M");
    assertThat(QemuToolResize.qemuRefuses(img, format)).isTrue();
    assertThatThrownBy(() -> ImageFormats.byName(format).resize(img, 8L * MIB, false))
        .isInstanceOf(UnsupportedFormatException.class).hasMessageContaining("resize of " + format + " images");
  }

  /** What qemu-img itself says about resizing a format. */
  private static final class QemuToolResize {
    static boolean qemuRefuses(Path img, String format) throws Exception {
      return io.vstore.vdisk.QemuTool.run("qemu-img", "resize", "-f", format, img.toString(), "8M").exitCode() != 0;
    }
  }
}
