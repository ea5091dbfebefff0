package io.vstore.ovf;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.vdisk.Corpus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Reads and probes every descriptor of the shared corpus ({@code VSTORE_CORPUS}/ovf) and checks what each says. */
class CorpusDescriptorTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path ovf(String name) {
    return Corpus.file("ovf/" + name);
  }

  @Test
  void everyCorpusDescriptorReadsAndProbes() throws IOException {
    Path dir = Corpus.root().resolve("ovf");
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".ovf")).sorted().toList();
    }
    assertThat(files).hasSizeGreaterThanOrEqualTo(10);
    List<String> failures = new ArrayList<>();
    for (Path f : files) {
      try {
        // As `vstore ovf probe` reads it: through the package layer, which opens a lone .ovf too.
        try (io.vstore.ovf.pkg.OvfPackage pkg = io.vstore.ovf.pkg.OvfPackage.open(f, io.vstore.ovf.pkg.SignaturePolicy.DEFAULT)) {
          assertThat(DescriptorReader.read(pkg.descriptor(), pkg.descriptorName()).systems()).isNotEmpty();
        }
        OvfDescriptor d = DescriptorReader.read(f);
        ProbeReport r = ProbeReport.of(d, f.toString());
        assertThat(r.systems()).as(f.toString()).isNotEmpty();
        for (ProbeReport.SystemEntry s : r.systems()) {
          assertThat(s.cpus()).as(f + " " + s.id()).isPositive();
          assertThat(s.memoryBytes()).as(f + " " + s.id()).isPositive();
        }
        JsonNode json = JSON.valueToTree(r);
        for (String field : List.of("systems", "disks", "networks", "deploymentOptions", "properties", "eulas", "warnings")) {
          assertThat(json.has(field)).as(f + " JSON field " + field).isTrue();
        }
        for (String field : List.of("id", "name", "cpus", "memoryBytes", "disks", "nics", "controllers")) {
          assertThat(json.get("systems").get(0).has(field)).as(f + " systems[0]." + field).isTrue();
        }
      } catch (IOException | RuntimeException e) {
        failures.add(f.getFileName() + ": " + e);
      }
    }
    assertThat(failures).isEmpty();
  }

  @Test
  void ttylinuxMemoryInMebibytesAndDiskInMebibytes() throws IOException {
    OvfDescriptor d = DescriptorReader.read(ovf("vmware-ovftool4.0-ttylinux-from-ova.ovf"));
    assertThat(d.version()).isEqualTo(OvfVersion.V1);
    assertThat(d.disks()).singleElement().satisfies(disk -> {
      assertThat(disk.capacityBytes()).isEqualTo(30L << 20);
      assertThat(disk.populatedBytes()).isEqualTo(18743296L);
      assertThat(disk.formatName()).isEqualTo("vmdk/streamOptimized");
    });
    VmConfiguration c = HardwareMapping.map(d, d.systems().getFirst(), null, Map.of(), Map.of(), new ArrayList<>());
    assertThat(c.memoryBytes()).isEqualTo(32L << 20);
    assertThat(c.cpus()).isEqualTo(1);
    assertThat(c.controllers()).extracting(VmConfiguration.Controller::type).contains("ide");
    assertThat(c.disks()).singleElement().satisfies(dd -> {
      assertThat(dd.diskId()).isEqualTo("vmdisk1");
      assertThat(dd.controller()).isNotNull();
    });
  }

  @Test
  void ciscoDeploymentOptionsChooseCpusAndMemory() throws IOException {
    OvfDescriptor d = DescriptorReader.read(ovf("cisco-csr1000v-deploymentoptions-properties.ovf"));
    assertThat(d.deploymentOptions()).extracting(DeploymentOption::id)
        .containsExactly("1CPU-4GB", "2CPU-4GB", "4CPU-4GB", "4CPU-8GB");
    assertThat(d.defaultDeploymentOption()).isEqualTo("1CPU-4GB");
    VirtualSystem vs = d.systems().getFirst();
    VmConfiguration def = HardwareMapping.map(d, vs, null, Map.of(), Map.of(), new ArrayList<>());
    assertThat(def.cpus()).isEqualTo(1);
    assertThat(def.memoryBytes()).isEqualTo(4096L << 20);
    VmConfiguration big = HardwareMapping.map(d, vs, "4CPU-8GB", Map.of(), Map.of(), new ArrayList<>());
    assertThat(big.cpus()).isEqualTo(4);
    assertThat(big.memoryBytes()).isEqualTo(8192L << 20);
    assertThat(big.cdDrives()).anySatisfy(cd -> assertThat(cd.imageFile()).isEqualTo("csr1000v.iso"));
    assertThat(big.serialPorts()).hasSize(2);
    assertThat(def.systemTypes()).contains("vmx-08", "vmx-11", "Cisco:Internal:VMCloud-01");
    assertThat(d.allProducts().getFirst().properties()).isNotEmpty();
    assertThat(d.allProducts().getFirst().properties().getFirst().fullKey()).startsWith("com.cisco.csr1000v.");
  }

  @Test
  void virtualBoxOvf2SasdEpasdWithXsdSuffixedNamespaces() throws IOException {
    OvfDescriptor d = DescriptorReader.read(ovf("virtualbox-ovf2.0-ubuntu-sasd-epasd.ovf"));
    assertThat(d.version()).isEqualTo(OvfVersion.V2);
    VmConfiguration c = HardwareMapping.map(d, d.systems().getFirst(), null, Map.of(), Map.of(), new ArrayList<>());
    assertThat(c.memoryBytes()).isEqualTo(512L << 20);
    assertThat(c.controllers()).extracting(VmConfiguration.Controller::type).contains("ide", "sata");
    assertThat(c.disks()).singleElement().satisfies(dd -> assertThat(dd.diskId()).isEqualTo("vmdisk1"));
    assertThat(c.nics()).singleElement().satisfies(n -> {
      assertThat(n.model()).isEqualTo("E1000");
      assertThat(n.network()).isEqualTo("NAT");
    });
    assertThat(d.file("file1").orElseThrow().size()).isNull();
  }

  @Test
  void dmtfCollectionListsBothSystems() throws IOException {
    OvfDescriptor d = DescriptorReader.read(ovf("dmtf-dsp0243-2.1.1-example3-vsc-ovf2.ovf"));
    assertThat(d.content()).isInstanceOf(VirtualSystemCollection.class);
    assertThat(d.systems()).extracting(VirtualSystem::id).containsExactly("storage server", "web-server");
    ProbeReport r = ProbeReport.of(d, "x");
    assertThat(r.systems()).allSatisfy(s -> {
      assertThat(s.collection()).isEqualTo("vsc1");
      assertThat(s.memoryBytes()).isEqualTo(1L << 30);
    });
    assertThat(r.eulas()).isNotEmpty();
  }

  @Test
  void vcloudVappOfTwoVms() throws IOException {
    OvfDescriptor d = DescriptorReader.read(ovf("vmware-ovftool3.5-vcloud-vapp-2vms.ovf"));
    assertThat(d.systems()).hasSize(2);
    assertThat(d.warnings()).anySatisfy(w -> assertThat(w).contains("NetworkConfigSection"));
  }

  @Test
  void efiFromVmwareConfigAndFromVirtualBoxMachine() throws IOException {
    for (String f : List.of("vmware-vsphere-efi-nvram-file-extraconfig.ovf", "vmware-vsphere-esxi8-vmx20-extraconfig.ovf",
        "virtualbox5-ovf1.0-nxos-efi-usb-serial.ovf")) {
      OvfDescriptor d = DescriptorReader.read(ovf(f));
      VmConfiguration c = HardwareMapping.map(d, d.systems().getFirst(), null, Map.of(), Map.of(), new ArrayList<>());
      assertThat(c.firmware()).as(f).isEqualTo("efi");
    }
    OvfDescriptor nvram = DescriptorReader.read(ovf("vmware-vsphere-efi-nvram-file-extraconfig.ovf"));
    VmConfiguration c = HardwareMapping.map(nvram, nvram.systems().getFirst(), null, Map.of(), Map.of(), new ArrayList<>());
    assertThat(c.extraConfig()).containsEntry("nvram", "ovf:/file/file2");
    OvfDescriptor vbox = DescriptorReader.read(ovf("virtualbox5-ovf1.0-nxos-efi-usb-serial.ovf"));
    VmConfiguration vc = HardwareMapping.map(vbox, vbox.systems().getFirst(), null, Map.of(), Map.of(), new ArrayList<>());
    assertThat(vc.usbControllers()).isNotEmpty();
  }

  @Test
  void chunkedFileAndPlainByteCapacity() throws IOException {
    OvfDescriptor d = DescriptorReader.read(ovf("vmware-vcenter6.5-chunksize-nostalgia.ovf"));
    FileReference f = d.files().getFirst();
    assertThat(f.chunkSize()).isEqualTo(7516192768L);
    assertThat(d.disks().getFirst().capacityBytes()).isEqualTo(107373568L);
  }

  @Test
  void nsxDisksWithoutFilesAreEmptyDisksToCreate() throws IOException {
    OvfDescriptor d = DescriptorReader.read(ovf("vmware-nsx-9.1-appliance-deploymentoptions.ovf"));
    assertThat(d.disk("secondary").orElseThrow().fileRef()).isNull();
    assertThat(d.disk("secondary").orElseThrow().capacityBytes()).isEqualTo(102400L << 20);
    assertThat(d.disk("system").orElseThrow().capacityBytes()).isEqualTo(200L << 30);
    assertThat(d.deploymentOptions()).hasSizeGreaterThan(1);
  }
}
