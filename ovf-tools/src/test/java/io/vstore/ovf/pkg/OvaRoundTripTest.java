package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Writes packages with {@link OvaWriter} and reads them back with {@link OvfPackage} and {@link DiskReader}. */
class OvaRoundTripTest {
  @TempDir
  Path dir;

  @ParameterizedTest(name = "{0} digest={1} chunk={2} gzip={3} stream={4}")
  @CsvSource({
      "vm.ova, SHA256, 0, false, false",
      "vm.ova, SHA256, 0, false, true",
      "vm.ova, SHA1, 1000000, false, true",
      "vm.ova, SHA512, 1048576, true, false",
      "vm.ova, SHA256, 0, true, true",
      "vm.ova, NONE, 0, false, true",
      "out-dir, SHA256, 0, false, false",
      "out-dir, SHA256, 700000, true, false",
  })
  void disksAndFilesComeBackByteForByte(String target, String digest, long chunk, boolean gzip, boolean stream)
      throws IOException {
    MemoryBlockDevice a = Packages.disk("a", 3 << 20, 1);
    MemoryBlockDevice b = Packages.disk("b", (5 << 20) + 4096, 2);
    byte[] nvram = "nvram bytes".getBytes();
    DigestAlgorithm alg = digest.equals("NONE") ? null : DigestAlgorithm.valueOf(digest);
    Path out = dir.resolve(target);
    List<Long> progress = new ArrayList<>();
    OvaWriter.Result r = OvaWriter.write(out, "vm.ovf", Packages::descriptor,
        List.of(new OvaWriter.Disk("file1", "vm-disk1.vmdk", a, null), new OvaWriter.Bytes("file2", "vm.nvram", nvram),
            new OvaWriter.Disk("file3", "vm-disk2.vmdk", b, "ide")),
        new OvaWriter.Options(alg, null, chunk, gzip), progress::add);
    if (System.getenv("OVA_KEEP") != null) {
      if (!Files.isDirectory(out)) { Files.copy(out, Path.of(System.getenv("OVA_KEEP")).resolve(digest + chunk + gzip + stream + ".ova"), java.nio.file.StandardCopyOption.REPLACE_EXISTING); }
    }
    assertThat(progress).isNotEmpty();
    assertThat(progress.getLast()).isEqualTo(a.size() + b.size());
    Map<String, OvaWriter.Written> files = r.files();
    assertThat(files.get("file1").capacity()).isEqualTo(a.size());
    assertThat(files.get("file2").size()).isEqualTo(nvram.length);

    try (OvfPackage pkg = stream ? OvfPackage.open(Files.newInputStream(out), "stdin", SignaturePolicy.DEFAULT)
        : OvfPackage.open(out, SignaturePolicy.DEFAULT)) {
      assertThat(pkg.descriptorName()).isEqualTo("vm.ovf");
      assertThat(new String(pkg.descriptor()).strip()).isEqualTo(new String(Packages.descriptor(files)).strip());
      assertThat(pkg.manifest().isPresent()).isEqualTo(alg != null);
      pkg.expect(Packages.refs(files));
      List<String> seen = new ArrayList<>();
      for (PackageFile f; (f = pkg.next()) != null; ) {
        seen.add(f.ref().id());
        switch (f.ref().id()) {
          case "file2" -> assertThat(Packages.all(f.stream())).isEqualTo(nvram);
          default -> {
            MemoryBlockDevice src = f.ref().id().equals("file1") ? a : b;
            DiskReader d = DiskReader.open(f);
            assertThat(d.format()).isEqualTo("vmdk");
            assertThat(d.capacity()).isEqualTo(src.size());
            MemoryBlockDevice copy = new MemoryBlockDevice("copy", src.size());
            d.copyTo(copy, x -> { });
            assertThat(Packages.bytes(copy)).isEqualTo(Packages.bytes(src));
          }
        }
        if (!stream) {
          assertThat(f.storedSize()).isEqualTo(files.get(f.ref().id()).size());
        }
      }
      assertThat(seen).containsExactly("file1", "file2", "file3");
      pkg.finish();
      assertThat(pkg.warnings()).isEmpty();
    }
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource({"SHA256", "SHA1", "SHA512"})
  void aFileReadInAnyOrderFromASeekableOva(String digest) throws IOException {
    MemoryBlockDevice a = Packages.disk("a", 1 << 20, 3);
    Path out = dir.resolve("x.ova");
    OvaWriter.Result r = OvaWriter.write(out, "x.ovf", Packages::descriptor,
        List.of(new OvaWriter.Bytes("f1", "one.txt", "one".getBytes()), new OvaWriter.Disk("f2", "disk.vmdk", a, null)),
        new OvaWriter.Options(DigestAlgorithm.valueOf(digest), null, 0, false), x -> { });
    try (OvfPackage pkg = OvfPackage.open(out, SignaturePolicy.DEFAULT)) {
      pkg.expect(Packages.refs(r.files()));
      PackageFile disk = pkg.file("f2");
      assertThat(disk.channel()).isPresent();
      try (InputStream in = pkg.file("f1").stream()) {
        assertThat(in.readAllBytes()).isEqualTo("one".getBytes());
      }
      MemoryBlockDevice copy = new MemoryBlockDevice("copy", a.size());
      DiskReader.open(disk).copyTo(copy, x -> { });
      assertThat(Packages.bytes(copy)).isEqualTo(Packages.bytes(a));
      pkg.finish();
    }
  }
}
