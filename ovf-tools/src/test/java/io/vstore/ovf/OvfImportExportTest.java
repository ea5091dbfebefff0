package io.vstore.ovf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.engine.Inventory;
import io.vstore.engine.VirtualMachine;
import io.vstore.ovf.pkg.DigestAlgorithm;
import io.vstore.ovf.pkg.SignaturePolicy;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Export a VM to an OVA and import it back: same configuration, byte-identical disks; failures leave nothing. */
class OvfImportExportTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;
  private Datastore store;
  private Inventory inv;

  @BeforeEach
  void open() throws IOException {
    store = newStore(tmp.resolve("ds"));
    inv = Inventory.open(store);
  }

  /** A datastore for import and export tests: small segments, no background cleaner. */
  static Datastore newStore(Path dir) throws IOException {
    return Datastore.create(dir, DatastoreOptions.defaults().withSegmentBytes(4L << 20)
        .withCleanerInterval(Duration.ZERO), 0);
  }

  /** Returns every byte of volume {@code volume} of {@code store}. */
  static byte[] bytes(Datastore store, String volume) throws IOException {
    try (Volume v = store.volume(volume, true)) {
      ByteBuffer b = ByteBuffer.allocate((int) v.size());
      v.read(0, b);
      return b.array();
    }
  }

  @AfterEach
  void close() throws IOException {
    store.close();
  }

  private VirtualMachine sourceVm() throws IOException {
    JsonNode cfg = JSON.readTree("{\"cpus\":2,\"memoryMiB\":512,\"firmware\":\"efi\"}");
    VirtualMachine vm = inv.vms().create("src", List.of(8L << 20, 4L << 20), cfg);
    Random r = new Random(42);
    for (String d : vm.disks()) {
      try (Volume v = store.volume(d)) {
        for (long off : new long[] {0, 65536 * 3 + 512, v.size() - 4096}) {
          byte[] b = new byte[4096];
          r.nextBytes(b);
          v.write(off, ByteBuffer.wrap(b));
        }
        v.flush();
      }
    }
    return vm;
  }

  private OvfExport.Result export(String vm, Path target, OvfVersion version) throws IOException {
    return OvfExport.run(inv, new OvfExport.Request(vm, target, DigestAlgorithm.SHA256, null, 0, false, version), x -> {});
  }

  private OvfImport.Result importAs(Path source, String name, String option, Map<String, String> props) throws IOException {
    try (OvfImport imp = OvfImport.prepare(inv, new OvfImport.Request(source, name, option, props, Map.of(), true,
        SignaturePolicy.DEFAULT))) {
      return imp.run(x -> {});
    }
  }

  private byte[] bytes(String volume) throws IOException {
    return bytes(store, volume);
  }

  private VmConfiguration config(String vm) throws IOException {
    return JSON.treeToValue(inv.vms().get(vm).config().get(OvfImport.CONFIG_KEY), VmConfiguration.class);
  }

  @Test
  void exportThenImportGivesTheSameConfigurationAndIdenticalDisks() throws Exception {
    VirtualMachine src = sourceVm();
    Path ova = tmp.resolve("src.ova");
    export("src", ova, OvfVersion.V1);
    OvfImport.Result r = importAs(ova, "copy", null, Map.of());
    assertThat(r.vms()).containsExactly("copy");
    VirtualMachine copy = inv.vms().get("copy");
    for (int i = 0; i < src.disks().size(); i++) {
      assertThat(Arrays.equals(bytes(copy.disks().get(i)), bytes(src.disks().get(i)))).as("disk " + i).isTrue();
    }
    VmConfiguration c = config("copy");
    assertThat(c.cpus()).isEqualTo(2);
    assertThat(c.memoryBytes()).isEqualTo(512L << 20);
    assertThat(c.firmware()).isEqualTo("efi");
    // A second round: the imported VM's own export imports to the same configuration.
    for (OvfVersion v : List.of(OvfVersion.V1, OvfVersion.V2)) {
      Path again = tmp.resolve("copy-" + v + ".ova");
      export("copy", again, v);
      importAs(again, "copy-" + v, null, Map.of());
      assertThat(config("copy-" + v)).as(v.toString()).isEqualTo(c);
      for (int i = 0; i < src.disks().size(); i++) {
        assertThat(Arrays.equals(bytes(inv.vms().get("copy-" + v).disks().get(i)), bytes(src.disks().get(i)))).isTrue();
      }
    }
  }

  @Test
  void ovaMembersComeInOrderTheManifestAgreesWithSha256sumAndTheDescriptorValidates() throws Exception {
    Xmllint.assumeInstalled();
    sourceVm();
    Path ova = tmp.resolve("src.ova");
    export("src", ova, OvfVersion.V1);
    List<String> names = new ArrayList<>();
    for (String line : run(tmp, "tar", "tvf", ova.toString()).split("\n")) {
      names.add(line.substring(line.lastIndexOf(' ') + 1));
    }
    assertThat(names).containsExactly("src.ovf", "src.mf", "src-vmdisk1.vmdk", "src-vmdisk2.vmdk");
    Path x = Files.createDirectories(tmp.resolve("x"));
    run(x, "tar", "xf", ova.toString());
    String check = run(x, "bash", "-c", "sed -E 's/^SHA256\\((.*)\\)= ([0-9a-f]+)$/\\2  \\1/' src.mf | sha256sum -c -");
    assertThat(check).contains("src.ovf: OK", "src-vmdisk1.vmdk: OK", "src-vmdisk2.vmdk: OK");
    Xmllint.assertValid(x.resolve("src.ovf"), OvfVersion.V1);
    if (hasQemuImg()) {
      for (int i = 0; i < 2; i++) {
        String vmdk = "src-vmdisk" + (i + 1) + ".vmdk";
        assertThat(run(x, "qemu-img", "check", vmdk)).contains("No errors");
        Path raw = Files.write(x.resolve("disk" + i + ".raw"), bytes(inv.vms().get("src").disks().get(i)));
        assertThat(run(x, "qemu-img", "compare", "-f", "vmdk", "-F", "raw", vmdk, raw.toString())).contains("identical");
      }
    }
  }

  @Test
  void disksInOtherFormatsMadeByQemuImgImport() throws Exception {
    Assumptions.assumeTrue(hasQemuImg(), "qemu-img is not installed (Debian package qemu-utils)");
    String seed = Files.readString(Path.of(getClass().getResource(
        "/io/vstore/ovf/DescriptorFuzzTestInputs/anyBytesAreADescriptorOrAnOvfException/small-vm").toURI()));
    for (String format : List.of("vpc", "qcow2", "vmdk", "raw", "vhdx")) {
      Path dir = Files.createDirectories(tmp.resolve("pkg-" + format));
      run(dir, "qemu-img", "create", "-q", "-f", "raw", "src.raw", "4M");
      run(dir, "bash", "-c", "printf 'data in " + format + "' | dd of=src.raw bs=1 seek=2097152 conv=notrunc status=none");
      run(dir, "qemu-img", "convert", "-O", format, "src.raw", "a.vmdk");
      byte[] expected = Files.readAllBytes(dir.resolve("src.raw"));
      Files.delete(dir.resolve("src.raw"));
      String desc = seed.replace(" ovf:size=\"512\"", "")
          .replace("ovf:capacity=\"3\" ovf:capacityAllocationUnits=\"byte * 2^30\"", "ovf:capacity=\"4\" ovf:capacityAllocationUnits=\"byte * 2^20\"")
          .replace("<Disk ovf:diskId=\"d2\" ovf:parentRef=\"d1\" ovf:capacity=\"3221225472\"/>", "")
          .replace("ovf:/disk/d2", "ovf:/disk/d1")
          .replace("<rasd:HostResource>ovf:/file/f</rasd:HostResource>", "");
      Files.writeString(dir.resolve("app.ovf"), desc);
      importAs(dir, "fmt-" + format, null, Map.of());
      byte[] got = bytes(inv.vms().get("fmt-" + format).disks().getFirst());
      // A VHD's capacity is rounded to its CHS geometry; the bytes that matter are the source's.
      assertThat(Arrays.equals(Arrays.copyOf(got, expected.length), expected)).as(format).isTrue();
    }
  }

  @Test
  void gzipChunksAndEveryDigestRoundTripToAnOvaAndADirectory() throws Exception {
    VirtualMachine src = sourceVm();
    int n = 0;
    for (DigestAlgorithm alg : DigestAlgorithm.values()) {
      for (String target : List.of("c" + n + ".ova", "c" + n + "-dir")) {
        Path out = tmp.resolve(target);
        OvfExport.run(inv, new OvfExport.Request("src", out, alg, null, 4096, true, OvfVersion.V2), x -> {});
        OvfDescriptor d;
        try (io.vstore.ovf.pkg.OvfPackage pkg = io.vstore.ovf.pkg.OvfPackage.open(out, SignaturePolicy.DEFAULT)) {
          d = DescriptorReader.read(pkg.descriptor(), target);
        }
        assertThat(d.files()).allSatisfy(f -> {
          assertThat(f.compression()).isEqualTo("gzip");
          assertThat(f.chunkSize()).isEqualTo(4096L);
          assertThat(f.size()).isGreaterThan(4096L); // several chunks
        });
        String name = "r" + n++;
        importAs(out, name, null, Map.of());
        for (int i = 0; i < src.disks().size(); i++) {
          assertThat(Arrays.equals(bytes(inv.vms().get(name).disks().get(i)), bytes(src.disks().get(i))))
              .as(alg + " " + target + " disk " + i).isTrue();
        }
      }
    }
  }

  @Test
  void aTruncatedOvaFailsAndLeavesNothingBehind() throws Exception {
    sourceVm();
    Path ova = tmp.resolve("src.ova");
    export("src", ova, OvfVersion.V1);
    try (RandomAccessFile f = new RandomAccessFile(ova.toFile(), "rw")) {
      f.setLength(f.length() * 2 / 3);
    }
    List<String> before = store.volumes().stream().map(v -> v.name()).sorted().toList();
    assertThatThrownBy(() -> importAs(ova, "cut", null, Map.of())).isInstanceOf(IOException.class);
    assertThat(inv.vms().list()).extracting(VirtualMachine::name).containsExactly("src");
    assertThat(store.volumes().stream().map(v -> v.name()).sorted().toList()).isEqualTo(before);
  }

  @Test
  void propertiesAndDeploymentOptionsSurviveTheRoundTrip() throws Exception {
    Assumptions.assumeTrue(hasQemuImg(), "qemu-img is not installed (Debian package qemu-utils)");
    Path dir = Files.createDirectories(tmp.resolve("pkg"));
    run(dir, "qemu-img", "create", "-q", "-f", "raw", "raw.img", "3M");
    run(dir, "bash", "-c", "printf 'hello from the appliance' | dd of=raw.img bs=1 seek=1048576 conv=notrunc status=none");
    run(dir, "qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", "raw.img", "a.vmdk");
    Files.delete(dir.resolve("raw.img"));
    String seed = Files.readString(Path.of(getClass().getResource(
        "/io/vstore/ovf/DescriptorFuzzTestInputs/anyBytesAreADescriptorOrAnOvfException/small-vm").toURI()));
    String desc = seed.replace(" ovf:size=\"512\"", "")
        .replace("ovf:capacity=\"3\" ovf:capacityAllocationUnits=\"byte * 2^30\"", "ovf:capacity=\"3\" ovf:capacityAllocationUnits=\"byte * 2^20\"")
        .replace("<Disk ovf:diskId=\"d2\" ovf:parentRef=\"d1\" ovf:capacity=\"3221225472\"/>", "")
        .replace("ovf:/disk/d2", "ovf:/disk/d1")
        .replace("<rasd:HostResource>ovf:/file/f</rasd:HostResource>", "");
    Files.writeString(dir.resolve("app.ovf"), desc);
    assertThatThrownBy(() -> OvfImport.prepare(inv, new OvfImport.Request(dir, "app", null, Map.of(), Map.of(), false,
        SignaturePolicy.DEFAULT))).hasMessageContaining("--accept-eula");
    assertThatThrownBy(() -> OvfImport.prepare(inv, new OvfImport.Request(dir, "app", null, Map.of("nope", "1"), Map.of(),
        true, SignaturePolicy.DEFAULT))).hasMessageContaining("--prop nope");
    importAs(dir, "app", "big", Map.of("ip", "9.9.9.9"));
    VmConfiguration c = config("app");
    assertThat(c.cpus()).isEqualTo(8);
    assertThat(c.deploymentOption()).isEqualTo("big");
    assertThat(c.properties()).containsEntry("c.ip.1", "9.9.9.9");
    byte[] disk = bytes(inv.vms().get("app").disks().getFirst());
    assertThat(new String(disk, 1 << 20, 24, StandardCharsets.US_ASCII)).isEqualTo("hello from the appliance");

    Path ova = tmp.resolve("app.ova");
    export("app", ova, OvfVersion.V2);
    importAs(ova, "app2", null, Map.of());
    assertThat(config("app2")).isEqualTo(c);
    JsonNode options = inv.vms().get("app2").config().get("deploymentOptions");
    assertThat(options.size()).isEqualTo(2);
    assertThat(Arrays.equals(bytes(inv.vms().get("app2").disks().getFirst()), disk)).isTrue();
  }

  @ParameterizedTest(name = "byte {0} of the last disk's VMDK")
  @ValueSource(strings = {"1000", "middle"})
  void aCorruptDiskFailsTheImportAndLeavesNothingBehind(String where) throws Exception {
    sourceVm();
    Path ova = tmp.resolve("src.ova");
    export("src", ova, OvfVersion.V1);
    byte[] all = Files.readAllBytes(ova);
    long at = -1;
    for (int i = all.length - 4; i >= 0 && at < 0; i--) {
      if (all[i] == 'K' && all[i + 1] == 'D' && all[i + 2] == 'M' && all[i + 3] == 'V') {
        // Inside the second disk's VMDK, whose digest the manifest holds: in its header's overhead
        // (skipped by the reader, so only the digest sees it), or among its grains (whose own
        // checksums are not computed when a manifest covers them).
        at = where.equals("middle") ? i + (all.length - 10240 - i) / 2 : i + 1000;
      }
    }
    assertThat(at).isPositive();
    try (RandomAccessFile f = new RandomAccessFile(ova.toFile(), "rw")) {
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0x55);
    }
    List<String> before = store.volumes().stream().map(v -> v.name()).sorted().toList();
    assertThatThrownBy(() -> importAs(ova, "bad", null, Map.of())).isInstanceOf(IOException.class)
        .satisfies(e -> assertThat(e.getMessage()).contains(ova.toString()).doesNotContain("\n"));
    assertThat(inv.vms().list()).extracting(VirtualMachine::name).containsExactly("src");
    assertThat(store.volumes().stream().map(v -> v.name()).sorted().toList()).isEqualTo(before);
  }

  @Test
  void aPoolExportsItsDesktopsAsDeltasOverOneBaseAndImportsByteIdentical() throws Exception {
    VirtualMachine src = sourceVm();
    Random r = new Random(5);
    for (String disk : src.disks()) {
      // Incompressible data, so that what the package stores is data and not VMDK and tar overhead.
      try (Volume v = store.volume(disk)) {
        byte[] b = new byte[2 << 20];
        r.nextBytes(b);
        v.write(1 << 20, ByteBuffer.wrap(b));
        v.flush();
      }
    }
    inv.vms().snapshot("src", "gold", "for the pool");
    inv.pools().create("lab", "src", "gold", 3, 1L << 20, 0);
    // One desktop writes over base data: its delta holds that, the others' deltas hold nothing.
    try (Volume v = store.volume("lab-2-disk0")) {
      byte[] b = new byte[8192];
      Arrays.fill(b, (byte) 0x5a);
      v.write(65536, ByteBuffer.wrap(b));
      v.flush();
    }
    Path ova = tmp.resolve("lab.ova");
    OvfExport.run(inv, new OvfExport.Request("lab", ova, DigestAlgorithm.SHA256, null, 0, false, OvfVersion.V1), x -> {});
    OvfDescriptor d;
    try (io.vstore.ovf.pkg.OvfPackage pkg = io.vstore.ovf.pkg.OvfPackage.open(ova, SignaturePolicy.DEFAULT)) {
      d = DescriptorReader.read(pkg.descriptor(), "lab.ovf");
    }
    assertThat(d.content()).isInstanceOf(VirtualSystemCollection.class);
    assertThat(d.systems()).extracting(VirtualSystem::name).containsExactly("lab-1", "lab-2", "lab-3");
    long bases = d.disks().stream().filter(x -> x.parentRef() == null && x.id().startsWith("base-")).count();
    assertThat(bases).isEqualTo(src.disks().size());
    assertThat(d.disks().stream().filter(x -> x.parentRef() != null).count()).isEqualTo(3L * src.disks().size());
    // Shared blocks are stored once: three desktops cost about one copy of the base, not three.
    long fullDisk = exportSize("src");
    assertThat(Files.size(ova)).isLessThan(2 * fullDisk);

    importAs(ova, "copy", null, Map.of());
    for (var desk : inv.pools().get("lab").desktops()) {
      VirtualMachine vm = inv.vms().get("copy-" + desk.name());
      for (int i = 0; i < desk.volumes().size(); i++) {
        assertThat(Arrays.equals(bytes(vm.disks().get(i)), bytes(desk.volumes().get(i))))
            .as(desk.name() + " disk " + i).isTrue();
      }
    }
  }

  private long exportSize(String vm) throws IOException {
    Path out = tmp.resolve(vm + "-size.ova");
    export(vm, out, OvfVersion.V1);
    return Files.size(out);
  }

  @Test
  void anExistingNameIsRefusedBeforeAnythingIsCreated() throws Exception {
    sourceVm();
    Path ova = tmp.resolve("src.ova");
    export("src", ova, OvfVersion.V1);
    assertThatThrownBy(() -> importAs(ova, "src", null, Map.of())).hasMessageContaining("VM src already exists");
  }

  static boolean hasQemuImg() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, "qemu-img"))) {
        return true;
      }
    }
    return false;
  }

  static String run(Path dir, String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc = p.waitFor();
    assertThat(rc).as(String.join(" ", cmd) + ":\n" + out).isZero();
    return out;
  }
}
