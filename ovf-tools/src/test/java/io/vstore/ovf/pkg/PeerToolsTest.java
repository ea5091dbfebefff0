package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.vdisk.QemuTool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The packages against the real tools: OVAs that GNU tar and qemu-img make are read, and the OVAs
 * vstore writes list in order under {@code tar tvf}, agree with {@code sha256sum}, and hold disks
 * that {@code qemu-img check} and {@code qemu-img compare} accept.
 */
class PeerToolsTest {
  @TempDir
  Path dir;

  @BeforeAll
  static void tools() {
    assumeTrue(onPath("qemu-img"), "qemu-img is not installed (CI installs qemu-utils)");
    assumeTrue(onPath("tar"), "tar is not installed");
    assumeTrue(onPath("sha256sum"), "sha256sum is not installed");
  }

  static boolean onPath(String tool) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  /** Writes a raw image with data at scattered places and returns it. */
  private Path rawImage(long size) throws IOException {
    MemoryBlockDevice d = Packages.disk("src", size, 11);
    Path raw = dir.resolve("src.raw");
    Files.write(raw, Packages.bytes(d));
    return raw;
  }

  @ParameterizedTest(name = "{0} {1} stream={2}")
  @CsvSource({
      "vmdk, subformat=streamOptimized, true",
      "vmdk, subformat=streamOptimized, false",
      "vmdk, subformat=monolithicSparse, false",
      "vpc, subformat=dynamic, false",
      "vpc, subformat=fixed, false",
      "vhdx, subformat=dynamic, false",
      "qcow2, compat=1.1, false",
      "raw, , true",
      "raw, , false",
  })
  void readsDisksQemuImgMadeInsideAnOvaGnuTarMade(String format, String options, boolean stream) throws Exception {
    long size = 6 << 20;
    Path raw = rawImage(size);
    Path pkgDir = Files.createDirectory(dir.resolve("pkg"));
    Path disk = pkgDir.resolve("disk1.img");
    List<String> cmd = new ArrayList<>(List.of("qemu-img", "convert", "-f", "raw", "-O", format));
    if (options != null) {
      cmd.addAll(List.of("-o", options));
    }
    cmd.addAll(List.of(raw.toString(), disk.toString()));
    QemuTool.ok(cmd.toArray(String[]::new));
    String ovf = "<Envelope/>\n";
    Files.writeString(pkgDir.resolve("vm.ovf"), ovf);
    String mf = QemuTool.ok("sh", "-c", "cd '" + pkgDir + "' && sha256sum --tag vm.ovf disk1.img");
    Files.writeString(pkgDir.resolve("vm.mf"), mf); // coreutils' "SHA256 (name) = hex" spelling
    Path ova = dir.resolve("vm.ova");
    QemuTool.ok("tar", "-C", pkgDir.toString(), "--format=gnu", "-cf", ova.toString(), "vm.ovf", "vm.mf", "disk1.img");

    List<FileRef> refs = List.of(FileRef.plain("file1", "disk1.img", Files.size(disk)));
    try (OvfPackage pkg = stream ? OvfPackage.open(Files.newInputStream(ova), "vm.ova", SignaturePolicy.DEFAULT)
        : OvfPackage.open(ova, SignaturePolicy.DEFAULT)) {
      pkg.expect(refs);
      PackageFile f = pkg.next();
      DiskReader r = DiskReader.open(f);
      assertThat(r.format()).isEqualTo(format);
      // VHD rounds the size up to its CHS geometry: the volume takes the disk's own capacity.
      long capacity = r.capacity() < 0 ? size : r.capacity();
      assertThat(capacity).isBetween(size, size + (64 << 10));
      MemoryBlockDevice target = new MemoryBlockDevice("target", capacity);
      r.copyTo(target, x -> { });
      assertThat(Arrays.copyOf(Packages.bytes(target), (int) size)).isEqualTo(Files.readAllBytes(raw));
      assertThat(pkg.next()).isNull();
      pkg.finish();
    }
    // The directory form of the same package reads the same.
    try (OvfPackage pkg = OvfPackage.open(pkgDir, SignaturePolicy.DEFAULT)) {
      pkg.expect(refs);
      DiskReader r = DiskReader.open(pkg.next());
      MemoryBlockDevice target = new MemoryBlockDevice("target", Math.max(size, r.capacity()));
      r.copyTo(target, x -> { });
      assertThat(Arrays.copyOf(Packages.bytes(target), (int) size)).isEqualTo(Files.readAllBytes(raw));
    }
  }

  @Test
  void aRandomAccessFormatInAStreamNeedsASeekableOva() throws Exception {
    Path raw = rawImage(1 << 20);
    Path pkgDir = Files.createDirectory(dir.resolve("pkg"));
    QemuTool.ok("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), pkgDir.resolve("d.qcow2").toString());
    Files.writeString(pkgDir.resolve("vm.ovf"), "<Envelope/>");
    Path ova = dir.resolve("vm.ova");
    QemuTool.ok("tar", "-C", pkgDir.toString(), "-cf", ova.toString(), "vm.ovf", "d.qcow2");
    try (OvfPackage pkg = OvfPackage.open(Files.newInputStream(ova), "stdin", SignaturePolicy.DEFAULT)) {
      pkg.expect(List.of(FileRef.plain("f", "d.qcow2", -1)));
      PackageFile f = pkg.next();
      assertThatThrownBy(() -> DiskReader.open(f)).isInstanceOf(PackageException.class)
          .hasMessageContaining("is a qcow2 disk stored in an OVA read as a stream")
          .hasMessageContaining("needs a seekable OVA");
    }
  }

  @Test
  void ovasVstoreWritesPassTarSha256sumAndQemuImg() throws Exception {
    long size = (9 << 20) + 512;
    MemoryBlockDevice a = Packages.disk("a", size, 21);
    MemoryBlockDevice b = Packages.disk("b", 2 << 20, 22);
    Path ova = dir.resolve("vm.ova");
    OvaWriter.Result r = OvaWriter.write(ova, "vm.ovf", Packages::descriptor,
        List.of(new OvaWriter.Disk("file1", "vm-disk1.vmdk", a, null), new OvaWriter.Disk("file2", "vm-disk2.vmdk", b, null)),
        OvaWriter.Options.DEFAULT, x -> { });
    String listing = QemuTool.ok("tar", "tvf", ova.toString());
    List<String> names = new ArrayList<>();
    for (String line : listing.strip().split("\n")) {
      names.add(line.substring(line.lastIndexOf(' ') + 1));
    }
    assertThat(names).containsExactly("vm.ovf", "vm.mf", "vm-disk1.vmdk", "vm-disk2.vmdk");

    Path x = Files.createDirectory(dir.resolve("x"));
    QemuTool.ok("tar", "-C", x.toString(), "-xf", ova.toString());
    String sums = QemuTool.ok("sha256sum", x.resolve("vm.ovf").toString(), x.resolve("vm-disk1.vmdk").toString(),
        x.resolve("vm-disk2.vmdk").toString());
    String manifest = Files.readString(x.resolve("vm.mf"));
    Pattern line = Pattern.compile("([0-9a-f]{64})  .*/([^/]+)");
    int matched = 0;
    for (String s : sums.strip().split("\n")) {
      Matcher m = line.matcher(s);
      assertThat(m.matches()).as(s).isTrue();
      assertThat(manifest).contains("SHA256(" + m.group(2) + ")= " + m.group(1) + "\n");
      matched++;
    }
    assertThat(matched).isEqualTo(3);
    assertThat(Files.size(x.resolve("vm-disk1.vmdk"))).isEqualTo(r.files().get("file1").size());

    for (String[] d : new String[][] {{"vm-disk1.vmdk", "a"}, {"vm-disk2.vmdk", "b"}}) {
      Path vmdk = x.resolve(d[0]);
      String info = QemuTool.ok("qemu-img", "info", vmdk.toString());
      assertThat(info).contains("file format: vmdk").contains("create type: streamOptimized");
      QemuTool.assertCheckClean(vmdk, "vmdk");
      Path src = dir.resolve(d[1] + ".raw");
      Files.write(src, Packages.bytes(d[1].equals("a") ? a : b));
      QemuTool.ok("qemu-img", "compare", "-f", "raw", "-F", "vmdk", src.toString(), vmdk.toString());
    }
    // The padded descriptor is still the descriptor: what the writer was given, then whitespace.
    String ovf = Files.readString(x.resolve("vm.ovf"));
    assertThat(ovf.strip()).isEqualTo(new String(Packages.descriptor(r.files())).strip());
    assertThat(ovf).contains("ovf:size=\"" + r.files().get("file1").size() + "\"");
    Map<String, OvaWriter.Written> files = r.files();
    assertThat(files.get("file1").populatedSize()).isPositive().isLessThanOrEqualTo(size);
  }

  @Test
  void aMemberOverEightGibibytesHasItsSizeInAPaxHeaderThatTarAndTheReaderRead() throws Exception {
    // The member's data is a hole of a sparse file: the headers are what is tested, not 9 GiB of I/O.
    long size = (9L << 30) + 7;
    Path ova = dir.resolve("big.ova");
    try (var ch = java.nio.channels.FileChannel.open(ova, java.nio.file.StandardOpenOption.CREATE_NEW,
        java.nio.file.StandardOpenOption.WRITE)) {
      ByteBuffer ovf = ByteBuffer.wrap("<Envelope/>".getBytes());
      ch.write(TarHeader.write("vm.ovf", ovf.remaining(), 0, false), 0);
      ch.write(ovf, 512);
      ByteBuffer h = TarHeader.write("big-" + "x".repeat(120) + ".iso", size, 0, true);
      ch.write(h, 1024);
      long end = 1024 + TarHeader.STREAMED + (size + 511) / 512 * 512;
      ch.write(ByteBuffer.allocate(1024), end);
    }
    String listing = QemuTool.ok("tar", "tvf", ova.toString());
    assertThat(listing).contains(" " + size + " ").contains("big-" + "x".repeat(120) + ".iso");
    try (OvfPackage pkg = OvfPackage.open(ova, SignaturePolicy.DEFAULT)) {
      pkg.expect(List.of(FileRef.plain("iso", "big-" + "x".repeat(120) + ".iso", size)));
      PackageFile f = pkg.next();
      assertThat(f.storedSize()).isEqualTo(size);
      assertThat(f.channel().orElseThrow().size()).isEqualTo(size);
      assertThat(pkg.warnings()).isEmpty();
    }
  }
}
