package io.vstore.vdisk.qcow2;

import static io.vstore.vdisk.DeviceBytes.assertSameBytes;
import static io.vstore.vdisk.DeviceBytes.readAll;
import static io.vstore.vdisk.QemuTool.assertCheckClean;
import static io.vstore.vdisk.QemuTool.ok;
import static io.vstore.vdisk.QemuTool.qemuIo;
import static io.vstore.vdisk.QemuTool.rawContent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.QemuPresence;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Internal snapshots made, applied and deleted by vstore, checked with qemu-img on the same file:
 * {@code qemu-img check} clean after each step, {@code qemu-img snapshot -l} lists what vstore
 * made, qemu reads each snapshot's content as it was, and vstore handles snapshots qemu-img made.
 */
class Qcow2SnapshotsQemuTest {
  private static final int SIZE = 8 << 20;

  @TempDir Path dir;

  @BeforeAll
  static void needsQemu() throws Exception {
    QemuPresence.assumeQemuImg();
  }

  private byte[] qemuSnapshotContent(Path img, String name) throws Exception {
    Path raw = dir.resolve(name + ".raw");
    ok("qemu-img", "convert", "-f", "qcow2", "-l", "snapshot.name=" + name, "-O", "raw", img.toString(),
        raw.toString());
    byte[] b = Files.readAllBytes(raw);
    Files.delete(raw);
    return b;
  }

  private static void assertVstoreCheckClean(Path img) throws Exception {
    CheckResult mine = ImageFormats.byName("qcow2").check(img);
    assertThat(mine.exitCode()).as("vstore check: %s", mine).isZero();
  }

  private static byte[] vstoreContent(Path img) throws Exception {
    try (DiskImage d = ImageFormats.open(img, "qcow2", true)) {
      return readAll(d);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"compat=1.1", "compat=0.10,cluster_size=4k", "extended_l2=on,cluster_size=64k",
      "refcount_bits=8,cluster_size=4k", "cluster_size=512", "refcount_bits=64,cluster_size=16k"})
  void vstoreSnapshotsAreReadByQemuAndSurviveWrites(String options) throws Exception {
    Path img = dir.resolve("a.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", options, img.toString(), Integer.toString(SIZE));
    qemuIo(img, "qcow2", "write -P 0x01 0 3M", "write -P 0x02 5M 100k", "write -c -P 0x03 6M 64k");
    byte[] first = rawContent(img, "qcow2", dir);

    assertThat(Qcow2Snapshots.create(img, "first")).isEqualTo("1");
    assertCheckClean(img, "qcow2");
    assertVstoreCheckClean(img);
    assertSameBytes(qemuSnapshotContent(img, "first"), first, "qemu reading vstore's snapshot");

    // Writes after the snapshot (by qemu and by vstore) copy the shared clusters.
    qemuIo(img, "qcow2", "write -P 0x04 1M 1M", "write -z 2M 64k");
    try (DiskImage d = ImageFormats.open(img, "qcow2", false)) {
      d.write(100, ByteBuffer.wrap(new byte[] {9, 9, 9}));
      d.write((6 << 20) + 10, ByteBuffer.wrap(new byte[] {7}));
    }
    assertCheckClean(img, "qcow2");
    byte[] second = rawContent(img, "qcow2", dir);
    assertThat(Qcow2Snapshots.create(img, "second")).isEqualTo("2");
    assertCheckClean(img, "qcow2");
    String listed = ok("qemu-img", "snapshot", "-l", img.toString());
    assertThat(listed).contains("first").contains("second");
    assertSameBytes(qemuSnapshotContent(img, "first"), first, "first, after more writes");
    assertSameBytes(qemuSnapshotContent(img, "second"), second, "second");

    qemuIo(img, "qcow2", "write -P 0x05 0 4M");
    Qcow2Snapshots.apply(img, "first");
    assertCheckClean(img, "qcow2");
    assertVstoreCheckClean(img);
    assertSameBytes(rawContent(img, "qcow2", dir), first, "active layer after applying first");
    assertSameBytes(vstoreContent(img), first, "vstore reading the applied snapshot");

    // Writing after apply must not change the snapshot that was applied.
    try (DiskImage d = ImageFormats.open(img, "qcow2", false)) {
      d.write(0, ByteBuffer.wrap(new byte[65536]));
    }
    assertCheckClean(img, "qcow2");
    assertSameBytes(qemuSnapshotContent(img, "first"), first, "first after writing over its applied content");

    Qcow2Snapshots.delete(img, "1");
    assertCheckClean(img, "qcow2");
    assertVstoreCheckClean(img);
    assertThat(Qcow2Snapshots.list(img)).extracting(Qcow2Snapshots.Snapshot::name).containsExactly("second");
    assertSameBytes(qemuSnapshotContent(img, "second"), second, "second after deleting first");
    Qcow2Snapshots.apply(img, "second");
    Qcow2Snapshots.delete(img, "second");
    assertCheckClean(img, "qcow2");
    assertThat(ok("qemu-img", "info", "--output=json", img.toString())).doesNotContain("\"snapshots\"");
    assertSameBytes(rawContent(img, "qcow2", dir), second, "active after applying and deleting second");
    // Only the active layer's clusters are left: deleting gave the shared space back.
    assertThat(ok("qemu-img", "check", img.toString())).doesNotContain("leaked");
  }

  @Test
  void qemuSnapshotsAreListedAppliedAndDeletedByVstore() throws Exception {
    Path img = dir.resolve("q.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), Integer.toString(SIZE));
    qemuIo(img, "qcow2", "write -P 0x11 0 2M");
    byte[] one = rawContent(img, "qcow2", dir);
    ok("qemu-img", "snapshot", "-c", "one", img.toString());
    qemuIo(img, "qcow2", "write -P 0x22 1M 2M");
    ok("qemu-img", "snapshot", "-c", "two", img.toString());
    qemuIo(img, "qcow2", "write -P 0x33 0 8M");

    List<Qcow2Snapshots.Snapshot> list = Qcow2Snapshots.list(img);
    assertThat(list).extracting(Qcow2Snapshots.Snapshot::id).containsExactly("1", "2");
    assertThat(list).extracting(Qcow2Snapshots.Snapshot::name).containsExactly("one", "two");
    assertThat(list).allSatisfy(s -> assertThat(s.diskSize()).isEqualTo(SIZE));

    Qcow2Snapshots.apply(img, "one");
    assertCheckClean(img, "qcow2");
    assertSameBytes(vstoreContent(img), one, "qemu's snapshot applied by vstore");
    Qcow2Snapshots.delete(img, "two");
    assertCheckClean(img, "qcow2");
    assertThat(Qcow2Snapshots.create(img, "three")).isEqualTo("2"); // ids continue from the highest left
    assertCheckClean(img, "qcow2");
    ok("qemu-img", "snapshot", "-d", "one", img.toString());
    ok("qemu-img", "snapshot", "-a", "three", img.toString());
    assertCheckClean(img, "qcow2");
    assertSameBytes(rawContent(img, "qcow2", dir), one, "vstore's snapshot applied by qemu");
  }

  @Test
  void applyingASnapshotTakenAtAnotherSizeRestoresThatSize() throws Exception {
    Path img = dir.resolve("s.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", img.toString(), "1M");
    qemuIo(img, "qcow2", "write -P 0x44 0 1M");
    byte[] small = rawContent(img, "qcow2", dir);
    Qcow2Snapshots.create(img, "small");
    ok("qemu-img", "resize", img.toString(), "64M"); // L1 grows with cluster_size=512
    qemuIo(img, "qcow2", "write -P 0x55 40M 1M");
    Qcow2Snapshots.apply(img, "small");
    assertCheckClean(img, "qcow2");
    assertThat(ok("qemu-img", "info", "--output=json", img.toString())).contains("\"virtual-size\": 1048576");
    assertSameBytes(rawContent(img, "qcow2", dir), small, "content at the snapshot's size");
  }

  @Test
  void badNamesAreRefusedWithoutChangingTheImage() throws Exception {
    Path img = dir.resolve("b.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "1M");
    Qcow2Snapshots.create(img, "x");
    byte[] before = Files.readAllBytes(img);
    assertThatThrownBy(() -> Qcow2Snapshots.create(img, "x")).hasMessageContaining("already has a snapshot 'x'");
    assertThatThrownBy(() -> Qcow2Snapshots.apply(img, "nope")).hasMessageContaining("no snapshot 'nope'");
    assertThatThrownBy(() -> Qcow2Snapshots.delete(img, "nope")).hasMessageContaining("no snapshot 'nope'");
    assertThatThrownBy(() -> Qcow2Snapshots.create(img, "")).hasMessageContaining("snapshot name");
    assertThat(Files.readAllBytes(img)).isEqualTo(before);
  }
}
