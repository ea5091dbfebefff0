package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile and broken packages: each fails with one clear line naming the package, member and
 * problem, whether the OVA is read as a file or as a stream, and never allocates what a header claims.
 */
class OvaErrorsTest {
  private static final String OVF = "<Envelope/>\n";
  private static final byte[] DISK = "raw disk bytes".repeat(1000).getBytes(StandardCharsets.US_ASCII);

  @TempDir
  Path dir;

  /** Opens {@code ova} as a file or a stream, declares {@code refs}, reads every file, and finishes. */
  private static OvfPackage readAll(Path ova, boolean stream, List<FileRef> refs) throws IOException {
    OvfPackage pkg = stream ? OvfPackage.open(Files.newInputStream(ova), ova.getFileName().toString(), SignaturePolicy.DEFAULT)
        : OvfPackage.open(ova, SignaturePolicy.DEFAULT);
    try {
      pkg.expect(refs);
      for (PackageFile f; (f = pkg.next()) != null; ) {
        try (InputStream in = f.stream()) {
          in.transferTo(java.io.OutputStream.nullOutputStream());
        }
      }
      pkg.finish();
      return pkg;
    } finally {
      pkg.close();
    }
  }

  private static List<FileRef> disk() {
    return List.of(FileRef.plain("f1", "disk.raw", DISK.length));
  }

  private Path ova(Packages.Entry... entries) throws IOException {
    return Packages.tar(dir.resolve("t" + System.nanoTime() + ".ova"), entries);
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void aDigestMismatchNamesTheFileAndBothDigests(boolean stream) throws IOException {
    byte[] other = DISK.clone();
    other[5] ^= 1;
    String wrong = Manifest.hex(DigestAlgorithm.SHA256.newDigest().digest(other));
    String right = Manifest.hex(DigestAlgorithm.SHA256.newDigest().digest(DISK));
    Path p = ova(Packages.Entry.file("vm.ovf", OVF),
        Packages.Entry.file("vm.mf", Packages.sha256Line("vm.ovf", OVF.getBytes()) + "SHA256(disk.raw)= " + wrong + "\n"),
        Packages.Entry.file("disk.raw", DISK));
    assertThatThrownBy(() -> readAll(p, stream, disk())).isInstanceOf(PackageException.class)
        .hasMessageStartingWith("manifest mismatch: ").hasMessageContaining("disk.raw")
        .hasMessageContaining("expected " + wrong).hasMessageContaining("actual " + right);
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void aChangedDescriptorIsCaughtByTheManifest(boolean stream) throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", OVF),
        Packages.Entry.file("vm.mf", Packages.sha256Line("vm.ovf", "<Envelope></Envelope>".getBytes())
            + Packages.sha256Line("disk.raw", DISK)),
        Packages.Entry.file("disk.raw", DISK));
    assertThatThrownBy(() -> readAll(p, stream, disk())).isInstanceOf(PackageException.class)
        .hasMessageStartingWith("manifest mismatch: ").hasMessageContaining("vm.ovf");
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void aFileMissingFromTheManifestIsAnError(boolean stream) throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", OVF),
        Packages.Entry.file("vm.mf", Packages.sha256Line("vm.ovf", OVF.getBytes())),
        Packages.Entry.file("disk.raw", DISK));
    assertThatThrownBy(() -> readAll(p, stream, disk())).isInstanceOf(PackageException.class)
        .hasMessageStartingWith("bad manifest: ").hasMessageContaining("vm.mf does not list 'disk.raw'");
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void aManifestEntryWithNoFileIsAnError(boolean stream) throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", OVF),
        Packages.Entry.file("vm.mf", Packages.sha256Line("vm.ovf", OVF.getBytes()) + Packages.sha256Line("disk.raw", DISK)
            + Packages.sha256Line("gone.vmdk", DISK)),
        Packages.Entry.file("disk.raw", DISK));
    assertThatThrownBy(() -> readAll(p, stream, disk())).isInstanceOf(PackageException.class)
        .hasMessageStartingWith("bad manifest: ").hasMessageContaining("lists 'gone.vmdk', which is not in the package");
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void aReferencedFileMissingFromThePackageIsAnError(boolean stream) throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", OVF), Packages.Entry.file("disk.raw", DISK));
    assertThatThrownBy(() -> readAll(p, stream, List.of(FileRef.plain("f1", "disk.raw", -1),
        FileRef.plain("f2", "other.vmdk", 10)))).isInstanceOf(PackageException.class)
        .hasMessageContaining("file 'other.vmdk' (id f2) referenced by the descriptor is not in the package");
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void aTruncatedTarIsReportedAsTruncated(boolean stream) throws IOException {
    MemoryBlockDevice d = Packages.disk("d", 2 << 20, 7);
    Path whole = dir.resolve("whole.ova");
    OvaWriter.Result r = OvaWriter.write(whole, "vm.ovf", Packages::descriptor, List.of(new OvaWriter.Disk("f1", "d.vmdk", d, null)),
        OvaWriter.Options.DEFAULT, x -> { });
    for (long cut : new long[] {100, 3000, Files.size(whole) / 2, Files.size(whole) - 20_000}) {
      Path p = dir.resolve("cut" + cut + ".ova");
      try (FileChannel in = FileChannel.open(whole); FileChannel out = FileChannel.open(p, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE)) {
        in.transferTo(0, cut, out);
      }
      assertThatThrownBy(() -> {
        OvfPackage pkg = stream ? OvfPackage.open(Files.newInputStream(p), "cut", SignaturePolicy.DEFAULT)
            : OvfPackage.open(p, SignaturePolicy.DEFAULT);
        try (pkg) {
          pkg.expect(Packages.refs(r.files()));
          for (PackageFile f; (f = pkg.next()) != null; ) {
            DiskReader.open(f).copyTo(new MemoryBlockDevice("t", d.size()), x -> { });
          }
          pkg.finish();
        }
      }).as("cut at %d", cut).isInstanceOf(IOException.class).hasMessageContaining("truncated");
    }
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {"../disk.raw", "/etc/passwd", "a/../../b", "C:\\disk.raw", "http://example.com/disk.vmdk", "a//b", ""})
  void hrefsOutsideThePackageAreRefused(String href) throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", OVF), Packages.Entry.file("disk.raw", DISK));
    try (OvfPackage pkg = OvfPackage.open(p, SignaturePolicy.DEFAULT)) {
      assertThatThrownBy(() -> pkg.expect(List.of(FileRef.plain("f1", href, 1)))).isInstanceOf(PackageException.class)
          .hasMessageStartingWith("bad ova: ").hasMessageContaining("href of file f1");
    }
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void membersNamedOutsideThePackageAreRefused(boolean stream) throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", OVF), Packages.Entry.file("../../evil.sh", DISK));
    assertThatThrownBy(() -> readAll(p, stream, List.of())).isInstanceOf(PackageException.class)
        .hasMessageContaining("member '../../evil.sh' leaves the package");
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void linkMembersAreRefused(boolean stream) throws IOException {
    Path sym = ova(Packages.Entry.file("vm.ovf", OVF),
        new Packages.Entry("disk.raw", null, TarArchiveEntry.LF_SYMLINK, "/etc/shadow"));
    assertThatThrownBy(() -> readAll(sym, stream, disk())).isInstanceOf(PackageException.class)
        .hasMessageContaining("member 'disk.raw' is a link (to '/etc/shadow')");
    Path hard = ova(Packages.Entry.file("vm.ovf", OVF), new Packages.Entry("disk.raw", null, TarArchiveEntry.LF_LINK, "vm.ovf"));
    assertThatThrownBy(() -> readAll(hard, stream, disk())).isInstanceOf(PackageException.class)
        .hasMessageContaining("is a link");
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void duplicateMembersAreRefused(boolean stream) throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", OVF), Packages.Entry.file("disk.raw", DISK), Packages.Entry.file("./disk.raw", DISK));
    assertThatThrownBy(() -> readAll(p, stream, disk())).isInstanceOf(PackageException.class)
        .hasMessageContaining("member 'disk.raw' appears twice");
  }

  @Test
  void aDescriptorThatIsNotFirstIsAnErrorInAStreamAndAWarningInAFile() throws IOException {
    Path p = ova(Packages.Entry.file("disk.raw", DISK), Packages.Entry.file("vm.ovf", OVF));
    assertThatThrownBy(() -> readAll(p, true, disk())).isInstanceOf(PackageException.class)
        .hasMessageContaining("the first member is 'disk.raw', not the descriptor (.ovf)");
    try (OvfPackage pkg = OvfPackage.open(p, SignaturePolicy.DEFAULT)) {
      assertThat(pkg.descriptorName()).isEqualTo("vm.ovf");
      assertThat(pkg.warnings()).singleElement().asString().contains("is not the first member");
    }
  }

  @Test
  void aLateManifestInAStreamSaysToOpenTheFile() throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", OVF), Packages.Entry.file("disk.raw", DISK),
        Packages.Entry.file("vm.mf", Packages.sha256Line("vm.ovf", OVF.getBytes()) + Packages.sha256Line("disk.raw", DISK)));
    assertThatThrownBy(() -> readAll(p, true, disk())).isInstanceOf(PackageException.class)
        .hasMessageContaining("vm.mf comes after the files");
    // A file can be read whatever the order.
    readAll(p, false, disk());
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void anUnreferencedMemberIsSkippedWithAWarning(boolean stream) throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", OVF), Packages.Entry.file("notes.txt", "hello"), Packages.Entry.file("disk.raw", DISK));
    OvfPackage pkg = readAll(p, stream, disk());
    if (stream) {
      assertThat(pkg.warnings()).singleElement().asString().contains("notes.txt is not referenced");
    }
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void aHugeDescriptorSizeIsRefusedBeforeReading(boolean stream) throws IOException {
    Path p = ova(Packages.Entry.file("vm.ovf", "x".repeat(OvfPackage.MAX_DESCRIPTOR + 1)));
    assertThatThrownBy(() -> readAll(p, stream, List.of())).isInstanceOf(PackageException.class)
        .hasMessageContaining("descriptor vm.ovf is " + (OvfPackage.MAX_DESCRIPTOR + 1) + " bytes, more than");
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void anOversizedPaxHeaderIsABadTarNotAnOutOfMemoryError(boolean stream) throws IOException {
    // A pax extended header ('x') whose size field claims 8 GiB, followed by a few bytes only.
    ByteBuffer b = TarHeader.write("vm.ovf", 4, 0, true);
    byte[] tar = new byte[b.capacity() + 4096];
    b.get(0, tar, 0, b.capacity());
    // Rewrite the pax header's size (offset 124) as 8 GiB in base-256 and fix its checksum.
    tar[124] = (byte) 0x80;
    for (int i = 125; i < 136; i++) {
      tar[i] = 0;
    }
    tar[131] = 2;
    long sum = 0;
    for (int i = 148; i < 156; i++) {
      tar[i] = ' ';
    }
    for (int i = 0; i < 512; i++) {
      sum += tar[i] & 0xff;
    }
    byte[] chk = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(chk, 0, tar, 148, 8);
    Path p = dir.resolve("pax.ova");
    Files.write(p, tar);
    assertThatThrownBy(() -> readAll(p, stream, List.of())).isInstanceOf(PackageException.class)
        .hasMessageStartingWith("bad ova: ");
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void notATarAtAll(boolean stream) throws IOException {
    Path p = dir.resolve("x.ova");
    Files.writeString(p, "this is not a tar archive, just text. ".repeat(40));
    assertThatThrownBy(() -> readAll(p, stream, List.of())).isInstanceOf(PackageException.class)
        .hasMessageStartingWith("bad ova: ");
  }

  @Test
  void aSymlinkInAnOvfDirectoryIsRefusedWhenReferenced() throws IOException {
    Path d = Files.createDirectory(dir.resolve("pkg"));
    Files.writeString(d.resolve("vm.ovf"), OVF);
    Files.createSymbolicLink(d.resolve("disk.raw"), Path.of("/etc/hostname"));
    assertThatThrownBy(() -> readAll(d, false, disk())).isInstanceOf(PackageException.class)
        .hasMessageContaining("'disk.raw' is a symbolic link");
  }

  @Test
  void aDirectoryPackageReadsFilesInSubdirectoriesButNotThroughALinkedDirectory() throws IOException {
    Path d = Files.createDirectory(dir.resolve("pkg"));
    Files.writeString(d.resolve("vm.ovf"), OVF);
    Files.createDirectory(d.resolve("sub"));
    Files.write(d.resolve("sub/disk.raw"), DISK);
    Files.writeString(d.resolve("unrelated.txt"), "not part of the package");
    List<FileRef> refs = List.of(FileRef.plain("f1", "sub/disk.raw", DISK.length));
    try (OvfPackage pkg = OvfPackage.open(d, SignaturePolicy.DEFAULT)) {
      pkg.expect(refs);
      assertThat(Packages.all(pkg.next().stream())).isEqualTo(DISK);
      assertThat(pkg.next()).isNull();
      pkg.finish();
    }
    Path outside = Files.createDirectory(dir.resolve("outside"));
    Files.write(outside.resolve("disk.raw"), DISK);
    Files.delete(d.resolve("sub/disk.raw"));
    Files.delete(d.resolve("sub"));
    Files.createSymbolicLink(d.resolve("sub"), outside);
    assertThatThrownBy(() -> readAll(d, false, refs)).isInstanceOf(PackageException.class)
        .hasMessageContaining("'sub/disk.raw' is a symbolic link");
  }
}
