package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.vdisk.Corpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Disks real producers wrote (the shared corpus: VMware's streamOptimized with its tables at the
 * front, VMDKstream's with markers, VMware's monolithicSparse) packed into an OVA and read back
 * through the package layer, as stream and as file: the guest bytes hash to what qemu-img reads.
 */
class CorpusDisksTest {
  @TempDir
  Path dir;

  @ParameterizedTest(name = "{0} stream={2}")
  @CsvSource({
      "disks/vmdk-rs/streamOptimized.vmdk, a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727, true",
      "disks/vmdk-rs/streamOptimized.vmdk, a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727, false",
      "disks/vmdk-rs/streamOptimizedWithMarkers.vmdk, 92c0f8b4280377437056f57c51ef51a5f8aeb1462ac630ef0633febcbfc3db4e, true",
      "disks/vmdk-rs/monolithicSparse.vmdk, a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727, false",
  })
  void realDisksReadAsQemuReadsThem(String file, String sha256OfRaw, boolean stream) throws Exception {
    byte[] disk = Files.readAllBytes(Corpus.file(file));
    byte[] ovf = "<Envelope/>".getBytes();
    Path ova = Packages.tar(dir.resolve("c.ova"), Packages.Entry.file("c.ovf", ovf),
        Packages.Entry.file("c.mf", Packages.sha256Line("c.ovf", ovf) + Packages.sha256Line("disk1.vmdk", disk)),
        Packages.Entry.file("disk1.vmdk", disk));
    try (OvfPackage pkg = stream ? OvfPackage.open(Files.newInputStream(ova), "c.ova", SignaturePolicy.DEFAULT)
        : OvfPackage.open(ova, SignaturePolicy.DEFAULT)) {
      pkg.expect(List.of(FileRef.plain("f", "disk1.vmdk", disk.length)));
      DiskReader r = DiskReader.open(pkg.next());
      assertThat(r.format()).isEqualTo("vmdk");
      MemoryBlockDevice target = new MemoryBlockDevice("t", r.capacity());
      r.copyTo(target, x -> { });
      assertThat(Manifest.hex(DigestAlgorithm.SHA256.newDigest().digest(Packages.bytes(target)))).isEqualTo(sha256OfRaw);
      pkg.finish();
    }
  }
}
