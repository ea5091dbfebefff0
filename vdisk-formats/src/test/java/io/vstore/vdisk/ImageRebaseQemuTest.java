package io.vstore.vdisk;

import static io.vstore.vdisk.QemuTool.assertCheckClean;
import static io.vstore.vdisk.QemuTool.ok;
import static io.vstore.vdisk.QemuTool.qemuIo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code image rebase} checked with qemu-img: in safe mode the guest content is unchanged (
 * {@code qemu-img compare} of the image against a flattened copy made before), {@code qemu-img
 * info} shows the new backing file and format, {@code qemu-img check} is clean; unsafe mode
 * changes only the reference, exactly as {@code qemu-img rebase -u} does.
 */
class ImageRebaseQemuTest {
  @TempDir Path dir;
  private Path base0;
  private Path base1;
  private Path other;
  private Path top;

  @BeforeAll
  static void needsQemu() throws Exception {
    QemuPresence.assumeQemuImg();
  }

  /** base0 <- base1 <- top, and an unrelated image "other" that shares some data with base0. */
  @BeforeEach
  void chain() throws Exception {
    base0 = dir.resolve("base0.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", base0.toString(), "8M");
    qemuIo(base0, "qcow2", "write -P 0x10 0 8M");
    base1 = dir.resolve("base1.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base0.qcow2", "-F", "qcow2", base1.toString());
    qemuIo(base1, "qcow2", "write -P 0x11 1M 1M", "write -z 3M 64k", "write -P 0x12 5M 100k");
    top = dir.resolve("top.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base1.qcow2", "-F", "qcow2", top.toString());
    qemuIo(top, "qcow2", "write -P 0x20 1536k 64k", "write -P 0x21 7M 4k");
    other = dir.resolve("other.raw");
    ok("qemu-img", "create", "-q", "-f", "raw", other.toString(), "6M");
    qemuIo(other, "raw", "write -P 0x10 0 2M", "write -P 0x99 4M 1M");
  }

  private Path flattened(Path img) throws Exception {
    Path flat = dir.resolve(img.getFileName() + ".flat.raw");
    Files.deleteIfExists(flat);
    ok("qemu-img", "convert", "-O", "raw", img.toString(), flat.toString());
    return flat;
  }

  private static void assertSameContent(Path img, Path flat) throws Exception {
    QemuTool.Run r = QemuTool.run("qemu-img", "compare", "-F", "raw", img.toString(), flat.toString());
    assertThat(r.exitCode()).as("qemu-img compare %s %s: %s%s", img, flat, r.stdout(), r.stderr()).isZero();
  }

  private static String info(Path img) throws Exception {
    return ok("qemu-img", "info", "--output=json", img.toString());
  }

  @Test
  void safeRebaseOntoAnAncestorCopiesWhatTheSkippedLayerProvided() throws Exception {
    Path flat = flattened(top);
    ImageRebase.Result r = ImageRebase.rebase(top, null, "base0.qcow2", null, false);
    assertSameContent(top, flat);
    assertCheckClean(top, "qcow2");
    assertThat(info(top)).contains("\"backing-filename\": \"base0.qcow2\"").contains("\"backing-filename-format\": \"qcow2\"");
    // Only what base1 changed (and top does not hold) is copied, not the whole disk.
    assertThat(r.bytesCopied()).isGreaterThan(0).isLessThanOrEqualTo(3L << 20);
  }

  @Test
  void safeRebaseOntoAnUnrelatedImageKeepsTheContent() throws Exception {
    Path flat = flattened(top);
    ImageRebase.rebase(top, "qcow2", other.toString(), "raw", false);
    assertSameContent(top, flat);
    assertCheckClean(top, "qcow2");
    assertThat(info(top)).contains("\"backing-filename-format\": \"raw\"").contains(other.toString());
  }

  @Test
  void removingTheBackingFileCopiesEverythingItProvided() throws Exception {
    Path flat = flattened(top);
    ImageRebase.rebase(top, null, "", null, false);
    assertSameContent(top, flat);
    assertCheckClean(top, "qcow2");
    assertThat(info(top)).doesNotContain("backing-filename");
  }

  @Test
  void unsafeRebaseOnlyRewritesTheReferenceAsQemuDoes() throws Exception {
    Path theirs = dir.resolve("theirs.qcow2");
    Files.copy(top, theirs, StandardCopyOption.REPLACE_EXISTING);
    ok("qemu-img", "rebase", "-u", "-b", "base0.qcow2", "-F", "qcow2", theirs.toString());
    ImageRebase.Result r = ImageRebase.rebase(top, null, "base0.qcow2", "qcow2", true);
    assertThat(r.bytesCopied()).isZero();
    assertCheckClean(top, "qcow2");
    QemuTool.Run cmp = QemuTool.run("qemu-img", "compare", top.toString(), theirs.toString());
    assertThat(cmp.exitCode()).as("%s", cmp.stdout()).isZero();
    assertThat(info(top)).contains("\"backing-filename\": \"base0.qcow2\"");
  }

  @Test
  void imagesQemuRebasedAreReadAndVstoreRebasedOnesAreRebasedByQemuAgain() throws Exception {
    Path flat = flattened(top);
    ImageRebase.rebase(top, null, "base0.qcow2", null, false);
    ok("qemu-img", "rebase", "-b", "base1.qcow2", "-F", "qcow2", top.toString());
    assertSameContent(top, flat);
    ImageRebase.rebase(top, null, "", null, false);
    assertSameContent(top, flat);
    try (DiskImage d = ImageFormats.open(top, true)) {
      assertThat(d.backing()).isEmpty();
    }
  }

  @Test
  void formatsWithoutRewritableReferencesAreRefusedBeforeAnythingChanges() throws Exception {
    Path vhdx = dir.resolve("d.vhdx");
    ok("qemu-img", "create", "-q", "-f", "vhdx", vhdx.toString(), "4M");
    byte[] before = Files.readAllBytes(vhdx);
    assertThatThrownBy(() -> ImageRebase.rebase(vhdx, null, "base0.qcow2", null, false))
        .isInstanceOf(UnsupportedFormatException.class).hasMessageContaining("rebase of vhdx");
    assertThat(Files.readAllBytes(vhdx)).isEqualTo(before);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"monolithicSparse", "twoGbMaxExtentSparse"})
  void vmdkDeltasAreRebasedKeepingTheContent(String subformat) throws Exception {
    Path v0 = dir.resolve("v0.vmdk");
    ok("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=" + subformat, v0.toString(), "8M");
    qemuIo(v0, "vmdk", "write -P 0x10 0 8M");
    Path v1 = dir.resolve("v1.vmdk");
    ok("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=" + subformat, "-b", "v0.vmdk", "-F", "vmdk",
        v1.toString());
    qemuIo(v1, "vmdk", "write -P 0x11 1M 1M", "write -P 0x12 5M 100k");
    Path vtop = dir.resolve("vtop.vmdk");
    ok("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=" + subformat, "-b", "v1.vmdk", "-F", "vmdk",
        vtop.toString());
    qemuIo(vtop, "vmdk", "write -P 0x20 1536k 64k", "write -P 0x21 7M 4k");
    Path flat = flattened(vtop);

    ImageRebase.Result r = ImageRebase.rebase(vtop, null, "v0.vmdk", null, false);
    assertThat(r.bytesCopied()).isGreaterThan(0).isLessThanOrEqualTo(3L << 20);
    assertSameContent(vtop, flat);
    assertThat(info(vtop)).contains("\"backing-filename\": \"v0.vmdk\"");
    QemuTool.Run check = QemuTool.run("qemu-img", "check", vtop.toString());
    assertThat(check.exitCode()).as(check.stdout() + check.stderr()).isZero();

    ImageRebase.rebase(vtop, null, "", null, false);
    assertSameContent(vtop, flat);
    assertThat(info(vtop)).doesNotContain("backing-filename");
    assertThatThrownBy(() -> ImageRebase.rebase(vtop, null, "base0.qcow2", "qcow2", true))
        .hasMessageContaining("must be a vmdk");
  }
}
