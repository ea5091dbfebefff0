package io.vstore.vdisk.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.Corpus;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.DeviceBytes;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageProbe;
import io.vstore.vdisk.QemuTool;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every VMDK of the shared corpus reads to the sha256 of qemu's raw reading (corpus README). */
class VmdkCorpusTest {
  private static final String TEN_MIB = "a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727";

  @ParameterizedTest
  @CsvSource({
    "monolithicSparse.vmdk, 10485760, " + TEN_MIB + ", monolithicSparse",
    "monolithicFlat.vmdk, 10485760, " + TEN_MIB + ", monolithicFlat",
    "twoGbMaxExtentSparse.vmdk, 10485760, " + TEN_MIB + ", twoGbMaxExtentSparse",
    "twoGbMaxExtentFlat.vmdk, 10485760, " + TEN_MIB + ", twoGbMaxExtentFlat",
    "streamOptimized.vmdk, 10485760, " + TEN_MIB + ", streamOptimized",
    "streamOptimizedWithMarkers.vmdk, 1048576, 92c0f8b4280377437056f57c51ef51a5f8aeb1462ac630ef0633febcbfc3db4e, streamOptimized",
    "vmfs_thick.vmdk, 2097152, 8d43c795d24bce01b49f92744f934c1072210dcac170bb1c83a5aa56df46ab7d, vmfs",
  })
  void readsLikeQemu(String file, long size, String sha256, String subformat) throws Exception {
    Path p = Corpus.root().resolve("disks/vmdk-rs").resolve(file);
    assertThat(VmdkTesting.FORMAT.probe(probe(p))).as("probe %s", file).isTrue();
    try (DiskImage image = VmdkTesting.open(p)) {
      assertThat(image.size()).isEqualTo(size);
      assertThat(image.info().subformat()).isEqualTo(subformat);
      assertThat(DeviceBytes.sha256(image)).isEqualTo(sha256);
    }
    CheckResult check = VmdkTesting.FORMAT.check(p);
    assertThat(check.corruptions()).isEmpty();
    assertThat(check.exitCode()).isIn(0, 3);
  }

  @Test
  void smallUnalignedReadsOfCompressedGrainsMatchWholeReads() throws Exception {
    Path p = Corpus.root().resolve("disks/vmdk-rs/streamOptimized.vmdk");
    try (DiskImage image = VmdkTesting.open(p)) {
      byte[] all = DeviceBytes.readAll(image);
      byte[] pieces = new byte[all.length];
      for (int pos = 0; pos < all.length; ) {
        int n = Math.min(777 + pos % 5000, all.length - pos);
        image.read(pos, ByteBuffer.wrap(pieces, pos, n));
        pos += n;
      }
      assertThat(pieces).isEqualTo(all);
    }
  }

  @Test
  void writingToAVmwareImageChangesOnlyTheCidOfItsDescriptor(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Path p = tmp.resolve("vmware.vmdk");
    Files.copy(Corpus.root().resolve("disks/vmdk-rs/monolithicSparse.vmdk"), p);
    p.toFile().setWritable(true);
    Descriptor before;
    try (DiskImage image = VmdkTesting.FORMAT.open(p, false, VmdkTesting.chain())) {
      before = ((VmdkImage) image).descriptor();
      image.write(12345, ByteBuffer.wrap(new byte[] {1, 2, 3}));
    }
    try (DiskImage image = VmdkTesting.open(p)) {
      Descriptor after = ((VmdkImage) image).descriptor();
      assertThat(after.cid()).isNotEqualTo(before.cid());
      assertThat(after.withCid(before.cid())).isEqualTo(before);
      assertThat(after.otherKeys()).containsEntry("isNativeSnapshot", "no");
      assertThat(after.ddb()).containsEntry("ddb.uuid", "60 00 C2 9f 48 66 ae a5-2f 18 d3 03 0b a9 14 ff");
      byte[] got = new byte[3];
      image.read(12345, ByteBuffer.wrap(got));
      assertThat(got).containsExactly(1, 2, 3);
    }
    assertThat(QemuTool.ok("qemu-img", "check", "-f", "vmdk", p.toString())).contains("No errors");
  }

  @Test
  void afl9IsRejectedWithoutALargeAllocation() {
    Path p = Corpus.root().resolve("disks/qemu-samples/afl9.vmdk");
    assertThatThrownBy(() -> VmdkTesting.open(p)).isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("afl9.vmdk").hasMessageContaining("too big");
  }

  @Test
  void afl9CheckReportsCorruption() throws Exception {
    CheckResult r = VmdkTesting.FORMAT.check(Corpus.root().resolve("disks/qemu-samples/afl9.vmdk"));
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.corruptions()).anySatisfy(m -> assertThat(m).contains("too big"));
  }

  @Test
  void workstationDescriptorParses() throws Exception {
    Path p = Corpus.root().resolve("disks/descriptors/libvmdk_descriptor_file.1.txt");
    Descriptor d = Descriptor.parse(Files.readString(p, StandardCharsets.ISO_8859_1), p.toString());
    assertThat(d.createType()).isEqualTo("monolithicSparse");
    assertThat(d.cid()).isEqualTo(0xfffffffeL);
    assertThat(d.hasParent()).isFalse();
    assertThat(d.extents()).containsExactly(
        new ExtentLine(ExtentLine.Access.RW, 16777216, ExtentLine.Type.SPARSE, "test1.vmdk", 0));
    assertThat(d.ddb()).containsEntry("ddb.adapterType", "ide").containsEntry("ddb.virtualHWVersion", "9");
    assertThat(Descriptor.parse(d.toText(), "again")).isEqualTo(d);
  }

  @Test
  void esxiSnapshotDeltaDescriptorParses() throws Exception {
    Path p = Corpus.root().resolve("disks/descriptors/vmdk-rs_vmfs_thick-000001.vmdk");
    Descriptor d = Descriptor.parse(Files.readString(p), p.toString());
    assertThat(d.createType()).isEqualTo("vmfsSparse");
    assertThat(d.cid()).isEqualTo(0x8f67ca74L);
    assertThat(d.parentCid()).isEqualTo(0x0172e8a4L);
    assertThat(d.parentFileNameHint()).isEqualTo("vmfs_thick.vmdk");
    assertThat(d.extents()).containsExactly(
        new ExtentLine(ExtentLine.Access.RW, 4096, ExtentLine.Type.VMFSSPARSE, "vmfs_thick-000001-delta.vmdk", 0));
    assertThat(Descriptor.parse(d.toText(), "again")).isEqualTo(d);
  }

  @Test
  void nonVmdkCorpusFilesAreNotProbedAsVmdk() throws Exception {
    for (String f : new String[] {"grub_mbr.raw", "parallels-v1", "empty.bochs", "afl5.img"}) {
      Path p = Corpus.root().resolve("disks/qemu-samples").resolve(f);
      assertThat(VmdkTesting.FORMAT.probe(probe(p))).as(f).isFalse();
    }
  }

  static ImageProbe probe(Path p) throws Exception {
    byte[] all = Files.readAllBytes(p);
    int head = Math.min(all.length, 65536);
    int tail = Math.min(all.length, 512);
    return new ImageProbe(p, all.length, ByteBuffer.wrap(all, 0, head).slice().asReadOnlyBuffer(),
        ByteBuffer.wrap(all, all.length - tail, tail).slice().asReadOnlyBuffer());
  }
}
