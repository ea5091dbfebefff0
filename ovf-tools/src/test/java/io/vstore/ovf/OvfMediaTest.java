package io.vstore.ovf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.engine.Inventory;
import io.vstore.engine.MediaFile;
import io.vstore.engine.VirtualMachine;
import io.vstore.ovf.pkg.DigestAlgorithm;
import io.vstore.ovf.pkg.OvfPackage;
import io.vstore.ovf.pkg.SignaturePolicy;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ISO images and NVRAM files travel with their VM: stored at import, attached to the VM's drives and
 * firmware, written back as File references at export (after the disks, in References order), byte
 * for byte; refused when corrupt or truncated, with nothing left behind; deleted with the VM.
 */
class OvfMediaTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** An ISO of an odd length with a run of zeros (which the media volume does not store) in the middle. */
  private static final byte[] ISO = iso();
  private static final byte[] NVRAM = "NVRAM: EFI variables\n".repeat(300).getBytes(StandardCharsets.US_ASCII);
  @TempDir Path tmp;
  private Datastore store;
  private Inventory inv;

  private static byte[] iso() {
    byte[] b = new byte[3 * (1 << 20) + 4321];
    new Random(16).nextBytes(b);
    java.util.Arrays.fill(b, 1 << 20, 2 << 20, (byte) 0);
    System.arraycopy("CD001".getBytes(StandardCharsets.US_ASCII), 0, b, 0x8001, 5);
    return b;
  }

  @BeforeEach
  void open() throws IOException {
    store = OvfImportExportTest.newStore(tmp.resolve("ds"));
    inv = Inventory.open(store);
  }

  @AfterEach
  void close() throws IOException {
    try {
      assertThat(store.check().problems()).isEmpty();
    } finally {
      store.close();
    }
  }

  /** A VM with data on its disk, an ISO added as a CD and an NVRAM file. */
  private void sourceVm() throws IOException {
    inv.vms().create("src", List.of(4L << 20), JSON.readTree("{\"cpus\":1,\"memoryMiB\":256,\"firmware\":\"efi\"}"));
    try (Volume v = store.volume("src-disk0")) {
      v.write(65536, ByteBuffer.wrap("the system disk".getBytes(StandardCharsets.US_ASCII)));
      v.flush();
    }
    inv.media().add("src", "install.iso", MediaFile.CDROM, new ByteArrayInputStream(ISO), ISO.length, x -> {});
    inv.media().add("src", "src.nvram", MediaFile.NVRAM, new ByteArrayInputStream(NVRAM), -1, x -> {});
  }

  private void export(String vm, Path target, OvfVersion version) throws IOException {
    OvfExport.run(inv, new OvfExport.Request(vm, target, DigestAlgorithm.SHA256, null, 0, false, version), x -> {});
  }

  private OvfImport.Result importAs(Path source, String name) throws IOException {
    try (OvfImport imp = OvfImport.prepare(inv, new OvfImport.Request(source, name, null, Map.of(), Map.of(), true,
        SignaturePolicy.DEFAULT))) {
      return imp.run(x -> {});
    }
  }

  private byte[] media(String vm, String name) throws IOException {
    try (InputStream in = inv.media().open(vm, name)) {
      return in.readAllBytes();
    }
  }

  private VmConfiguration config(String vm) throws IOException {
    return JSON.treeToValue(inv.vms().get(vm).config().get(OvfImport.CONFIG_KEY), VmConfiguration.class);
  }

  private static OvfDescriptor descriptor(Path pkg) throws IOException {
    try (OvfPackage p = OvfPackage.open(pkg, SignaturePolicy.DEFAULT)) {
      return DescriptorReader.read(p.descriptor(), pkg.toString());
    }
  }

  /** The drives and NVRAM a descriptor gives its VM, with the href of the file each holds. */
  private static List<String> devices(OvfDescriptor d) throws IOException {
    VmConfiguration c = HardwareMapping.map(d, d.systems().getFirst(), null, Map.of(), Map.of(), new ArrayList<>());
    List<String> out = new ArrayList<>();
    for (VmConfiguration.CdDrive cd : c.cdDrives()) {
      out.add((cd.dvd() ? "dvd " : "cd ") + cd.unit() + " " + (cd.imageFile() == null ? null
          : d.file(cd.imageFile()).orElseThrow().href()));
    }
    String nvram = c.extraConfig().get("nvram");
    out.add("nvram " + (nvram == null ? null : d.file(nvram.substring("ovf:/file/".length())).orElseThrow().href()));
    return out;
  }

  @Test
  void anIsoAndNvramRoundTripByteExactThroughTwoExportsAndImports() throws Exception {
    sourceVm();
    for (OvfVersion version : List.of(OvfVersion.V1, OvfVersion.V2)) {
      Path ova = tmp.resolve("src-" + version + ".ova");
      export("src", ova, version);
      OvfDescriptor first = descriptor(ova);
      assertThat(devices(first)).containsExactly("dvd 0 install.iso", "nvram src.nvram");
      assertThat(first.files()).extracting(FileReference::href)
          .containsExactly("src-vmdisk1.vmdk", "install.iso", "src.nvram");
      assertThat(first.file("media-install.iso").orElseThrow().size()).isEqualTo(ISO.length);
      // What ovftool's probe shows: the drive's file, the NVRAM file, both among the files with their sizes.
      ProbeReport probe = ProbeReport.of(first, ova.toString());
      assertThat(probe.systems().getFirst().nvramFile()).isEqualTo("media-src.nvram");
      assertThat(probe.systems().getFirst().cdDrives()).extracting(VmConfiguration.CdDrive::imageFile)
          .containsExactly("media-install.iso");
      assertThat(probe.text()).contains("file media-install.iso", "nvram file media-src.nvram");
      assertThat(probe.files()).extracting(ProbeReport.FileEntry::href, ProbeReport.FileEntry::size)
          .contains(org.assertj.core.groups.Tuple.tuple("install.iso", (long) ISO.length),
              org.assertj.core.groups.Tuple.tuple("src.nvram", (long) NVRAM.length));

      String copy = "copy-" + version;
      importAs(ova, copy);
      VirtualMachine vm = inv.vms().get(copy);
      assertThat(vm.media()).extracting(MediaFile::name, MediaFile::role, MediaFile::size)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("install.iso", MediaFile.CDROM, (long) ISO.length),
              org.assertj.core.groups.Tuple.tuple("src.nvram", MediaFile.NVRAM, (long) NVRAM.length));
      assertThat(vm.media().getFirst().sha256()).isEqualTo(inv.vms().get("src").media().getFirst().sha256());
      assertThat(media(copy, "install.iso")).isEqualTo(ISO);
      assertThat(media(copy, "src.nvram")).isEqualTo(NVRAM);
      VmConfiguration c = config(copy);
      assertThat(c.cdDrives()).extracting(VmConfiguration.CdDrive::media).containsExactly("install.iso");
      assertThat(c.nvram()).isEqualTo("src.nvram");
      assertThat(c.firmware()).isEqualTo("efi");

      // The imported VM exports the same devices and files, and imports to the same configuration.
      Path again = tmp.resolve("again-" + version + ".ova");
      export(copy, again, version);
      OvfDescriptor second = descriptor(again);
      assertThat(devices(second)).isEqualTo(devices(first));
      // The disk's href carries the VM's name; the media files keep theirs, and their sizes.
      assertThat(second.files().subList(1, 3)).isEqualTo(first.files().subList(1, 3));
      importAs(again, copy + "-2");
      assertThat(config(copy + "-2")).isEqualTo(c);
      assertThat(media(copy + "-2", "install.iso")).isEqualTo(ISO);
      assertThat(media(copy + "-2", "src.nvram")).isEqualTo(NVRAM);
      assertThat(OvfImportExportTest.bytes(store, inv.vms().get(copy + "-2").disks().getFirst()))
          .isEqualTo(OvfImportExportTest.bytes(store, "src-disk0"));
    }
  }

  @Test
  void theOvaHoldsDescriptorManifestDisksThenMediaTheManifestAgreesAndTheDescriptorValidates() throws Exception {
    Xmllint.assumeInstalled();
    sourceVm();
    for (OvfVersion version : List.of(OvfVersion.V1, OvfVersion.V2)) {
      Path ova = tmp.resolve("src-" + version + ".ova");
      export("src", ova, version);
      List<String> names = new ArrayList<>();
      for (String line : OvfImportExportTest.run(tmp, "tar", "tvf", ova.toString()).split("\n")) {
        names.add(line.substring(line.lastIndexOf(' ') + 1));
      }
      assertThat(names).containsExactly("src.ovf", "src.mf", "src-vmdisk1.vmdk", "install.iso", "src.nvram");
      Path x = Files.createDirectories(tmp.resolve("x-" + version));
      OvfImportExportTest.run(x, "tar", "xf", ova.toString());
      assertThat(Files.readAllBytes(x.resolve("install.iso"))).isEqualTo(ISO);
      assertThat(Files.readAllBytes(x.resolve("src.nvram"))).isEqualTo(NVRAM);
      String check = OvfImportExportTest.run(x, "bash", "-c",
          "sed -E 's/^SHA256\\((.*)\\)= ([0-9a-f]+)$/\\2  \\1/' src.mf | sha256sum -c -");
      assertThat(check).contains("install.iso: OK", "src.nvram: OK");
      Xmllint.assertValid(x.resolve("src.ovf"), version);
    }
  }

  @Test
  void deletingAnImportedVmLeavesNothingOfItsMedia() throws Exception {
    sourceVm();
    Path ova = tmp.resolve("src.ova");
    export("src", ova, OvfVersion.V1);
    List<String> before = volumes();
    importAs(ova, "copy");
    assertThat(volumes()).contains("copy-media0", "copy-media1");
    inv.vms().delete("copy");
    assertThat(volumes()).isEqualTo(before);
    inv.vms().delete("src");
    assertThat(store.volumes()).isEmpty();
  }

  private List<String> volumes() {
    return store.volumes().stream().map(v -> v.name()).sorted().toList();
  }

  @Test
  void aCorruptIsoInAnOvaIsRefusedWithOneLineAndLeavesNothing() throws Exception {
    sourceVm();
    Path ova = tmp.resolve("src.ova");
    export("src", ova, OvfVersion.V1);
    byte[] all = Files.readAllBytes(ova);
    int at = indexOf(all, "CD001".getBytes(StandardCharsets.US_ASCII));
    assertThat(at).isPositive();
    try (RandomAccessFile f = new RandomAccessFile(ova.toFile(), "rw")) {
      f.seek(at);
      f.write('X');
    }
    List<String> before = volumes();
    assertThatThrownBy(() -> importAs(ova, "bad")).isInstanceOf(IOException.class)
        .hasMessageStartingWith("manifest mismatch:").hasMessageContaining("install.iso").hasMessageNotContaining("\n");
    assertThat(inv.vms().list()).extracting(VirtualMachine::name).containsExactly("src");
    assertThat(volumes()).isEqualTo(before);
  }

  @Test
  void aTruncatedIsoInADirectoryIsRefusedWithOneLineAndLeavesNothing() throws Exception {
    sourceVm();
    Path dir = tmp.resolve("pkg");
    OvfExport.run(inv, new OvfExport.Request("src", dir, null, null, 0, false, OvfVersion.V1), x -> {});
    try (RandomAccessFile f = new RandomAccessFile(dir.resolve("install.iso").toFile(), "rw")) {
      f.setLength(ISO.length - 1000);
    }
    List<String> before = volumes();
    assertThatThrownBy(() -> importAs(dir, "cut")).isInstanceOf(IOException.class)
        .hasMessage("bad ovf: file install.iso (cdrom image of VM cut) holds " + (ISO.length - 1000)
            + " bytes but its ovf:size says " + ISO.length + ": truncated or padded");
    assertThat(inv.vms().list()).extracting(VirtualMachine::name).containsExactly("src");
    assertThat(volumes()).isEqualTo(before);
  }

  @Test
  void anIsoListedAsADiskIsStoredAndHeldByItsDrive() throws Exception {
    sourceVm();
    Path dir = tmp.resolve("pkg");
    OvfExport.run(inv, new OvfExport.Request("src", dir, null, null, 0, false, OvfVersion.V1), x -> {});
    Path ovf = dir.resolve("src.ovf");
    String text = Files.readString(ovf);
    // ovftool's older layout: the ISO as a Disk of DiskSection, the drive naming the disk.
    String iso = "<ovf:Disk ovf:capacity=\"" + ISO.length + "\" ovf:diskId=\"cdrom1\" ovf:fileRef=\"media-install.iso\""
        + " ovf:format=\"http://www.ecma-international.org/publications/standards/Ecma-119.htm\"/>";
    assertThat(text).contains("ovf:/file/media-install.iso", "</ovf:DiskSection>");
    Files.writeString(ovf, text.replace("ovf:/file/media-install.iso", "ovf:/disk/cdrom1")
        .replace("</ovf:DiskSection>", iso + "</ovf:DiskSection>"));
    importAs(dir, "isodisk");
    VmConfiguration c = config("isodisk");
    assertThat(c.cdDrives()).singleElement().satisfies(cd -> {
      assertThat(cd.imageDisk()).isEqualTo("cdrom1");
      assertThat(cd.media()).isEqualTo("install.iso");
    });
    assertThat(inv.vms().get("isodisk").disks()).hasSize(1);
    assertThat(media("isodisk", "install.iso")).isEqualTo(ISO);
  }

  @Test
  void mediaRemovedFromTheVmLeaveTheirDriveEmptyAtExport() throws Exception {
    sourceVm();
    Path ova = tmp.resolve("src.ova");
    export("src", ova, OvfVersion.V1);
    importAs(ova, "copy");
    inv.media().remove("copy", "install.iso");
    inv.media().remove("copy", "src.nvram");
    Path again = tmp.resolve("again.ova");
    export("copy", again, OvfVersion.V1);
    OvfDescriptor d = descriptor(again);
    assertThat(devices(d)).containsExactly("dvd 0 null", "nvram null");
    assertThat(d.files()).extracting(FileReference::href).containsExactly("copy-vmdisk1.vmdk");
  }

  private static int indexOf(byte[] all, byte[] what) {
    outer:
    for (int i = 0; i + what.length <= all.length; i++) {
      for (int j = 0; j < what.length; j++) {
        if (all[i + j] != what[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
