package io.vstore.vdisk.qcow2;

import static io.vstore.vdisk.QemuTool.assertCheckClean;
import static io.vstore.vdisk.QemuTool.ok;
import static io.vstore.vdisk.QemuTool.qemuIo;
import static io.vstore.vdisk.QemuTool.rawContent;
import static io.vstore.vdisk.DeviceBytes.readAll;
import static io.vstore.vdisk.DeviceBytes.assertSameBytes;
import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Writing into qcow2 images with internal snapshots taken by qemu-img: vstore copies the clusters
 * and L2 tables a snapshot shares before changing them, so {@code qemu-img check} stays clean,
 * the active layer reads what was written, and applying a snapshot afterwards ({@code qemu-img
 * snapshot -a}) still gives the content it had when it was taken.
 */
class Qcow2SnapshotWriteTest {
  private static final int SIZE = 8 << 20;

  @TempDir Path dir;

  private byte[] snapshotContent(Path img, String name) throws Exception {
    Path raw = dir.resolve(name + ".raw");
    ok("qemu-img", "convert", "-f", "qcow2", "-l", "snapshot.name=" + name, "-O", "raw", img.toString(),
        raw.toString());
    byte[] b = Files.readAllBytes(raw);
    Files.delete(raw);
    return b;
  }

  /** Applies snapshot {@code name} to a copy of {@code img} with qemu-img and returns what the copy reads. */
  private byte[] appliedCopy(Path img, String name) throws Exception {
    Path copy = dir.resolve("applied-" + name + ".qcow2");
    Files.copy(img, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    ok("qemu-img", "snapshot", "-a", name, copy.toString());
    assertCheckClean(copy, "qcow2");
    byte[] b = rawContent(copy, "qcow2", dir);
    Files.delete(copy);
    return b;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"compat=1.1", "compat=0.10,cluster_size=4k", "extended_l2=on,cluster_size=64k",
      "refcount_bits=8,cluster_size=4k", "lazy_refcounts=on,cluster_size=16k"})
  void writesCopyOnWriteAndKeepTheSnapshots(String options) throws Exception {
    Path img = dir.resolve("snap.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", options, img.toString(), Integer.toString(SIZE));
    qemuIo(img, "qcow2", "write -P 0x01 0 3M", "write -P 0x02 5M 100k", "write -c -P 0x03 6M 64k");
    ok("qemu-img", "snapshot", "-c", "s1", img.toString());
    qemuIo(img, "qcow2", "write -P 0x04 1M 1M", "write -z 2M 64k");
    ok("qemu-img", "snapshot", "-c", "s2", img.toString());
    byte[] s1 = snapshotContent(img, "s1");
    byte[] s2 = snapshotContent(img, "s2");
    byte[] model = rawContent(img, "qcow2", dir);

    Random rnd = new Random(options.hashCode());
    try (DiskImage d = ImageFormats.open(img, "qcow2", false)) {
      assertSameBytes(readAll(d), model, "vstore reading the active layer before writing");
      write(d, model, 100, 5_000, rnd);                // partial write into a cluster both snapshots share
      write(d, model, (1 << 20) - 777, 70_000, rnd);   // across shared clusters of s1 and s2
      write(d, model, 5 << 20, 128 << 10, rnd);        // whole clusters, partly shared
      write(d, model, (6 << 20) + 10, 100, rnd);       // into a shared compressed cluster
      write(d, model, 7 << 20, 64 << 10, rnd);         // never written: fresh clusters
      write(d, model, 300, 200, rnd);                  // again, now in place
      zero(d, model, 2 << 20, 256 << 10, true);        // discard shared clusters
      zero(d, model, (512 << 10) + 100, 200 << 10, false);
      d.discard((5 << 20) + (64 << 10), 64 << 10);
      Arrays.fill(model, (5 << 20) + (64 << 10), (5 << 20) + (128 << 10), (byte) 0);
      d.flush();
      write(d, model, 4096, 4096, rnd);
    }
    assertCheckClean(img, "qcow2");
    CheckResult mine = ImageFormats.byName("qcow2").check(img);
    assertThat(mine.exitCode()).as("vstore check: %s", mine).isZero();
    assertSameBytes(rawContent(img, "qcow2", dir), model, "qemu reading what vstore wrote");
    assertSameBytes(snapshotContent(img, "s1"), s1, "snapshot s1 read in place");
    assertSameBytes(snapshotContent(img, "s2"), s2, "snapshot s2 read in place");
    assertSameBytes(appliedCopy(img, "s1"), s1, "snapshot s1 applied with qemu-img snapshot -a");
    assertSameBytes(appliedCopy(img, "s2"), s2, "snapshot s2 applied with qemu-img snapshot -a");
    try (DiskImage d = ImageFormats.open(img, "qcow2", true)) {
      assertSameBytes(readAll(d), model, "vstore reading back its own writes");
    }
    // Deleting the snapshots must leave exactly the active layer's clusters referenced.
    ok("qemu-img", "snapshot", "-d", "s1", img.toString());
    ok("qemu-img", "snapshot", "-d", "s2", img.toString());
    assertCheckClean(img, "qcow2");
    assertSameBytes(rawContent(img, "qcow2", dir), model, "the active layer after deleting the snapshots");
  }

  private static void write(DiskImage d, byte[] model, int offset, int length, Random rnd) throws IOException {
    byte[] b = new byte[length];
    rnd.nextBytes(b);
    d.write(offset, ByteBuffer.wrap(b));
    System.arraycopy(b, 0, model, offset, length);
  }

  private static void zero(DiskImage d, byte[] model, int offset, int length, boolean unmap) throws IOException {
    d.writeZeroes(offset, length, unmap);
    Arrays.fill(model, offset, offset + length, (byte) 0);
  }
}
