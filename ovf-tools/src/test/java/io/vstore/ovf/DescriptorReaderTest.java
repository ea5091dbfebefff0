package io.vstore.ovf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Hand-written descriptors for the quirks and the attacks the corpus does not cover. */
class DescriptorReaderTest {
  static final String NS = "xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\""
      + " xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\""
      + " xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData\"";

  static String envelope(String references, String disks, String systemBody) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Envelope " + NS + ">\n<References>" + references + "</References>\n"
        + "<DiskSection><Info>d</Info>" + disks + "</DiskSection>\n"
        + "<VirtualSystem ovf:id=\"vm\"><Info>x</Info><Name>vm</Name>" + systemBody + "</VirtualSystem></Envelope>";
  }

  static final String HARDWARE = "<VirtualHardwareSection><Info>h</Info>"
      + "<Item><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>"
      + "<Item><rasd:AllocationUnits>byte * 2 ^ 20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>"
      // A disk whose Parent refers forward to the controller below it.
      + "<Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:ElementName>d</rasd:ElementName><rasd:HostResource>ovf:/disk/d1</rasd:HostResource><rasd:InstanceID>5</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>"
      + "<Item><rasd:ElementName>nvme</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>vmware.nvme.controller</rasd:ResourceSubType><rasd:ResourceType>20</rasd:ResourceType></Item>"
      + "</VirtualHardwareSection>";

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void forwardParentNvmeByUnitsWithSpacesAroundCaret() throws Exception {
    OvfDescriptor d = DescriptorReader.read(utf8(envelope("<File ovf:id=\"f\" ovf:href=\"a.vmdk\"/>",
        "<Disk ovf:diskId=\"d1\" ovf:fileRef=\"f\" ovf:capacity=\"3\" ovf:capacityAllocationUnits=\"byte*2^30\"/>", HARDWARE)), "t");
    VmConfiguration c = HardwareMapping.map(d, d.systems().getFirst(), null, Map.of(), Map.of(), new ArrayList<>());
    assertThat(c.memoryBytes()).isEqualTo(1L << 30);
    assertThat(c.cpus()).isEqualTo(2);
    assertThat(c.controllers()).singleElement().satisfies(k -> assertThat(k.type()).isEqualTo("nvme"));
    assertThat(c.disks()).singleElement().satisfies(dd -> {
      assertThat(dd.controller()).isEqualTo("3");
      assertThat(dd.unit()).isEqualTo(1);
      assertThat(dd.capacityBytes()).isEqualTo(3L << 30);
    });
  }

  @Test
  void utf16DeclarationOnUtf8BytesAndMixedPrefixes() throws Exception {
    String xml = envelope("<ovf:File ovf:id=\"f\" ovf:href=\"a.vmdk\" ovf:size=\"10\"/>",
        "<ovf:Disk ovf:diskId=\"d1\" ovf:fileRef=\"f\" ovf:capacity=\"1048576\"/>", HARDWARE)
        .replace("encoding=\"UTF-8\"", "encoding=\"UTF-16\"").replace("<Name>vm</Name>", "<Name>vm é</Name>");
    OvfDescriptor d = DescriptorReader.read(utf8(xml), "t");
    assertThat(d.systems().getFirst().name()).isEqualTo("vm é");
    assertThat(d.disks().getFirst().capacityBytes()).isEqualTo(1048576);
  }

  @Test
  void emptyFileRefIsAnEmptyDiskAndDeltasNameTheirParent() throws Exception {
    OvfDescriptor d = DescriptorReader.read(utf8(envelope("<File ovf:id=\"f\" ovf:href=\"a.vmdk\"/><File ovf:id=\"g\" ovf:href=\"b.vmdk\" ovf:compression=\"gzip\" ovf:size=\"77\"/>",
        "<Disk ovf:diskId=\"d1\" ovf:fileRef=\"f\" ovf:capacity=\"1\" ovf:capacityAllocationUnits=\"MegaBytes\"/>"
            + "<Disk ovf:diskId=\"d2\" ovf:fileRef=\"g\" ovf:parentRef=\"d1\" ovf:capacity=\"1048576\"/>"
            + "<Disk ovf:diskId=\"d3\" ovf:fileRef=\"\" ovf:capacity=\"2\" ovf:capacityAllocationUnits=\"byte * 10^3\"/>", HARDWARE)), "t");
    assertThat(d.disk("d3").orElseThrow().fileRef()).isNull();
    assertThat(d.disk("d3").orElseThrow().capacityBytes()).isEqualTo(2000);
    assertThat(d.disk("d2").orElseThrow().parentRef()).isEqualTo("d1");
    assertThat(d.file("g").orElseThrow().compression()).isEqualTo("gzip");
    assertThat(d.file("g").orElseThrow().size()).isEqualTo(77);
  }

  @Test
  void deltaWithAnotherCapacityOrAMissingParentIsRefused() {
    assertThatThrownBy(() -> DescriptorReader.read(utf8(envelope("<File ovf:id=\"f\" ovf:href=\"a.vmdk\"/>",
        "<Disk ovf:diskId=\"d1\" ovf:fileRef=\"f\" ovf:parentRef=\"nope\" ovf:capacity=\"1\"/>", HARDWARE)), "t"))
        .isInstanceOf(OvfException.class).hasMessageContaining("parentRef nope");
  }

  @Test
  void ovf09SectionsTypedByXsiType() throws Exception {
    String xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        + "<Envelope xmlns=\"http://www.vmware.com/schema/ovf/1/envelope\" xmlns:ovf=\"http://www.vmware.com/schema/ovf/1/envelope\""
        + " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
        + " xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\""
        + " xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData\" ovf:version=\"0.9\">"
        + "<References><File ovf:href=\"old.vmdk\" ovf:id=\"file1\" ovf:size=\"123\"/></References>"
        + "<Section xsi:type=\"ovf:DiskSection_Type\"><Info>disks</Info>"
        + "<Disk ovf:capacity=\"8589934592\" ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\" ovf:format=\"http://www.vmware.com/specifications/vmdk.html#compressed\"/></Section>"
        + "<Section xsi:type=\"ovf:NetworkSection_Type\"><Info>nets</Info><Network ovf:name=\"VM Network\"><Description>n</Description></Network></Section>"
        + "<Content xsi:type=\"ovf:VirtualSystem_Type\" ovf:id=\"Old VM\"><Info>vm</Info>"
        + "<Section xsi:type=\"ovf:VirtualHardwareSection_Type\"><Info>hw</Info>"
        + "<System><vssd:VirtualSystemType>vmx-04</vssd:VirtualSystemType></System>"
        + "<Item><rasd:Caption>1 CPU</rasd:Caption><rasd:InstanceId>1</rasd:InstanceId><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>"
        + "<Item><rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits><rasd:Caption>256 MB</rasd:Caption><rasd:InstanceId>2</rasd:InstanceId><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>256</rasd:VirtualQuantity></Item>"
        + "<Item><rasd:BusNumber>0</rasd:BusNumber><rasd:Caption>scsi</rasd:Caption><rasd:InstanceId>4</rasd:InstanceId><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>"
        + "<Item><rasd:Caption>disk1</rasd:Caption><rasd:HostResource>/disk/vmdisk1</rasd:HostResource><rasd:InstanceId>9</rasd:InstanceId><rasd:Parent>4</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>"
        + "<Item><rasd:Caption>eth0</rasd:Caption><rasd:Connection>VM Network</rasd:Connection><rasd:InstanceId>10</rasd:InstanceId><rasd:ResourceSubType>PCNet32</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>"
        + "</Section></Content></Envelope>";
    OvfDescriptor d = DescriptorReader.read(utf8(xml), "t");
    assertThat(d.version()).isEqualTo(OvfVersion.V0_9);
    VmConfiguration c = HardwareMapping.map(d, d.systems().getFirst(), null, Map.of("VM Network", "lan"), Map.of(), new ArrayList<>());
    assertThat(c.memoryBytes()).isEqualTo(256L << 20);
    assertThat(c.disks()).singleElement().satisfies(dd -> assertThat(dd.controller()).isEqualTo("4"));
    assertThat(c.controllers()).singleElement().satisfies(k -> assertThat(k.type()).isEqualTo("scsi"));
    assertThat(c.nics()).singleElement().satisfies(n -> assertThat(n.network()).isEqualTo("lan"));
  }

  @Test
  void unknownOptionalSectionIsSkippedWithAWarningAndARequiredOneIsRefusedByName() throws Exception {
    String optional = envelope("", "", HARDWARE.replace("d1", "x") + "<x:Fancy xmlns:x=\"urn:x\" ovf:required=\"false\"><Info>i</Info></x:Fancy>");
    String hw = HARDWARE.replace("<rasd:HostResource>ovf:/disk/d1</rasd:HostResource>", "");
    OvfDescriptor d = DescriptorReader.read(utf8(envelope("", "", hw + "<x:Fancy xmlns:x=\"urn:x\" ovf:required=\"false\"><Info>i</Info></x:Fancy>")), "t");
    assertThat(d.warnings()).anySatisfy(w -> assertThat(w).contains("{urn:x}Fancy"));
    assertThat(optional).isNotEmpty();
    assertThatThrownBy(() -> DescriptorReader.read(utf8(envelope("", "", hw + "<x:Fancy xmlns:x=\"urn:x\"><Info>i</Info></x:Fancy>")), "t"))
        .isInstanceOf(OvfException.class).hasMessageStartingWith("unsupported ovf: t: required section {urn:x}Fancy");
  }

  @Test
  void externalEntitiesAndEntityExpansionAreRefused() {
    String xxe = "<?xml version=\"1.0\"?><!DOCTYPE Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        + "<Envelope " + NS + "><References/>&x;</Envelope>";
    assertThatThrownBy(() -> DescriptorReader.read(utf8(xxe), "evil.ovf")).isInstanceOf(OvfException.class)
        .hasMessageContaining("DOCTYPE declarations are refused");
    StringBuilder lol = new StringBuilder("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for (int i = 1; i < 10; i++) {
      lol.append("<!ENTITY lol").append(i).append(" \"").append(("&lol" + (i == 1 ? "" : i - 1) + ";").repeat(10)).append("\">");
    }
    lol.append("]><Envelope ").append(NS).append(">&lol9;</Envelope>");
    assertThatThrownBy(() -> DescriptorReader.read(utf8(lol.toString()), "lol.ovf")).isInstanceOf(OvfException.class)
        .hasMessageContaining("DOCTYPE");
  }

  @Test
  void limitsOnSizeAndElementsAndDepth() {
    byte[] big = new byte[SafeXmlParser.MAX_BYTES + 1];
    assertThatThrownBy(() -> DescriptorReader.read(big, "big.ovf")).hasMessageContaining("more than the limit");
    String many = "<Envelope " + NS + ">" + "<a/>".repeat(SafeXmlParser.MAX_ELEMENTS + 1) + "</Envelope>";
    assertThatThrownBy(() -> DescriptorReader.read(utf8(many), "many.ovf")).hasMessageContaining("more than 200000 elements");
    String deep = "<Envelope " + NS + ">" + "<a>".repeat(100) + "</a>".repeat(100) + "</Envelope>";
    assertThatThrownBy(() -> DescriptorReader.read(utf8(deep), "deep.ovf")).hasMessageContaining("nested deeper");
  }

  @Test
  void pathTraversalHrefsAreRefused() {
    for (String href : List.of("../etc/passwd", "/etc/passwd", "a/../../b", "C:\\x.vmdk")) {
      assertThatThrownBy(() -> DescriptorReader.read(utf8(envelope("<File ovf:id=\"f\" ovf:href=\"" + href + "\"/>", "",
          HARDWARE.replace("<rasd:HostResource>ovf:/disk/d1</rasd:HostResource>", ""))), "t"))
          .as(href).isInstanceOf(OvfException.class).hasMessageContaining("not a path inside the package");
    }
  }

  @Test
  void unitsAreExact() throws Exception {
    assertThat(Units.bytesPerUnit("byte * 2^30", "u")).isEqualTo(1L << 30);
    assertThat(Units.bytesPerUnit("byte*2^20", "u")).isEqualTo(1L << 20);
    assertThat(Units.bytesPerUnit("byte * 2 ^ 20", "u")).isEqualTo(1L << 20);
    assertThat(Units.bytesPerUnit("MegaBytes", "u")).isEqualTo(1L << 20);
    assertThat(Units.bytesPerUnit("GigaBytes", "u")).isEqualTo(1L << 30);
    assertThat(Units.bytesPerUnit("byte", "u")).isEqualTo(1);
    assertThat(Units.bytesPerUnit(null, "u")).isEqualTo(1);
    assertThat(Units.bytesPerUnit("byte * 10^9", "u")).isEqualTo(1_000_000_000L);
    assertThatThrownBy(() -> Units.bytesPerUnit("hertz * 10^6", "u")).hasMessageContaining("not a unit of bytes");
    assertThatThrownBy(() -> Units.bytes(1L << 40, "byte * 2^30", "u")).hasMessageContaining("overflows");
    assertThatThrownBy(() -> Units.bytesPerUnit("byte * 2^99", "u")).isInstanceOf(OvfException.class);
    assertThatThrownBy(() -> Units.parseCount("99999999999999999999", "u")).isInstanceOf(OvfException.class);
  }

  @Test
  void memoryWithoutUnitsIsMebibytesWithAWarning() throws Exception {
    String hw = HARDWARE.replace("<rasd:AllocationUnits>byte * 2 ^ 20</rasd:AllocationUnits>", "")
        .replace("<rasd:HostResource>ovf:/disk/d1</rasd:HostResource>", "");
    OvfDescriptor d = DescriptorReader.read(utf8(envelope("", "", hw)), "t");
    List<String> warnings = new ArrayList<>();
    VmConfiguration c = HardwareMapping.map(d, d.systems().getFirst(), null, Map.of(), Map.of(), warnings);
    assertThat(c.memoryBytes()).isEqualTo(1024L << 20);
    assertThat(warnings).anySatisfy(w -> assertThat(w).contains("no AllocationUnits"));
  }
}
