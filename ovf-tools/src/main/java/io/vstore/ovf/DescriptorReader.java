package io.vstore.ovf;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads OVF 0.9, 1.x and 2.x descriptors into an {@link OvfDescriptor}. Names are matched by local
 * name within the OVF, CIM and vendor namespaces a producer used, so mixed prefixes, {@code .xsd}
 * suffixed CIM namespaces and OVF 0.9's {@code Section xsi:type="ovf:DiskSection_Type"} all read the
 * same. A section this reader does not know is skipped with a warning when it says
 * {@code ovf:required="false"} and refused, naming it, otherwise (DSP0243 5.4).
 */
public final class DescriptorReader {
  private static final Set<String> IGNORED_SECTIONS = Set.of("InstallSection", "EnvironmentFilesSection",
      "BootDeviceSection", "PlacementGroupSection", "PlacementSection", "ScaleOutSection", "EncryptionSection",
      "ResourceAllocationSection", "CompatibilitySection");

  private final String source;
  private final List<String> warnings = new ArrayList<>();
  private OvfVersion version;

  private DescriptorReader(String source) {
    this.source = source;
  }

  /** Reads the descriptor file {@code file}, refusing one larger than the descriptor size cap. */
  public static OvfDescriptor read(Path file) throws IOException {
    long size = Files.size(file);
    if (size > SafeXmlParser.MAX_BYTES) {
      throw OvfException.bad(file + ": descriptor is " + size + " bytes, more than the limit of " + SafeXmlParser.MAX_BYTES);
    }
    return read(Files.readAllBytes(file), file.toString());
  }

  /** Reads a descriptor from a stream, at most the descriptor size cap. */
  public static OvfDescriptor read(InputStream in, String source) throws IOException {
    byte[] bytes = in.readNBytes(SafeXmlParser.MAX_BYTES + 1);
    return read(bytes, source);
  }

  /** Reads a descriptor from its bytes; {@code source} names it in warnings and errors. */
  public static OvfDescriptor read(byte[] bytes, String source) throws OvfException {
    return new DescriptorReader(source).envelope(SafeXmlParser.parse(bytes, source));
  }

  private OvfDescriptor envelope(XmlElement root) throws OvfException {
    if (!root.localName().equals("Envelope") || !(Namespaces.isOvf(root.namespace()) || root.namespace().isEmpty())) {
      throw OvfException.bad(source + ": root element is {" + root.namespace() + "}" + root.localName()
          + ", not an OVF Envelope");
    }
    version = detectVersion(root);
    List<FileReference> files = new ArrayList<>();
    List<XmlElement> diskElements = new ArrayList<>();
    List<OvfNetwork> networks = new ArrayList<>();
    List<DeploymentOption> options = new ArrayList<>();
    Content content = null;
    for (XmlElement e : root.children()) {
      String kind = sectionName(e);
      switch (kind) {
        case "References" -> files.addAll(references(e));
        case "DiskSection", "SharedDiskSection" -> diskElements.addAll(e.childrenNamed("Disk"));
        case "NetworkSection" -> {
          for (XmlElement n : e.childrenNamed("Network")) {
            networks.add(new OvfNetwork(required(n, "name"), n.childText("Description")));
          }
        }
        case "DeploymentOptionSection" -> options.addAll(deploymentOptions(e));
        case "VirtualSystem", "VirtualSystemCollection" -> {
          if (content != null) {
            throw OvfException.bad(source + ": more than one top-level VirtualSystem or VirtualSystemCollection (" + e + ")");
          }
          content = content(e, kind, 1);
        }
        case "Strings", "Info", "Signature" -> {
          // localisation bundles and signatures carry nothing the import maps
        }
        default -> unknown(e, kind, "Envelope");
      }
    }
    if (content == null) {
      throw OvfException.bad(source + ": the Envelope has no VirtualSystem or VirtualSystemCollection");
    }
    checkUnique(files.stream().map(FileReference::id).toList(), "File id");
    List<VirtualDisk> disks = disks(diskElements, files, content);
    checkUnique(disks.stream().map(VirtualDisk::id).toList(), "Disk diskId");
    checkUnique(options.stream().map(DeploymentOption::id).toList(), "deployment option id");
    checkParents(disks);
    return new OvfDescriptor(version, List.copyOf(files), List.copyOf(disks), List.copyOf(networks),
        List.copyOf(options), content, List.copyOf(warnings));
  }

  private static OvfVersion detectVersion(XmlElement root) {
    String ns = root.namespace();
    if (ns.equals(Namespaces.OVF2) || ns.equals(Namespaces.OVF2 + "/")) {
      return OvfVersion.V2;
    }
    if (ns.equals(Namespaces.OVF09_VMWARE) || ns.equals(Namespaces.OVF09_DMTF) || "0.9".equals(root.attr("version"))) {
      return OvfVersion.V0_9;
    }
    for (XmlElement c : root.children()) {
      if ((c.localName().equals("Section") || c.localName().equals("Content")) && c.attr(Namespaces.XSI, "type") != null) {
        return OvfVersion.V0_9;
      }
    }
    return OvfVersion.V1;
  }

  /** Returns the section's name: the element's local name, or for OVF 0.9 its {@code xsi:type} without {@code _Type}. */
  static String sectionName(XmlElement e) {
    String n = e.localName();
    if (n.equals("Section") || n.equals("Content")) {
      String type = e.attr(Namespaces.XSI, "type");
      if (type != null) {
        String t = type.substring(type.indexOf(':') + 1).strip();
        return t.endsWith("_Type") ? t.substring(0, t.length() - 5) : t;
      }
    }
    return n;
  }

  private void unknown(XmlElement e, String kind, String where) throws OvfException {
    String name = (e.namespace().isEmpty() ? "" : "{" + e.namespace() + "}") + kind;
    if (IGNORED_SECTIONS.contains(kind) && Namespaces.isOvf(e.namespace())) {
      warnings.add("ignored " + kind + " in " + where + " (line " + e.line() + "): vstore does not use it");
      return;
    }
    if ("false".equalsIgnoreCase(String.valueOf(e.attr("required")).strip())) {
      warnings.add("skipped optional section " + name + " in " + where + " (line " + e.line() + ")");
      return;
    }
    throw OvfException.unsupported(source + ": required section " + name + " in " + where + " (line " + e.line()
        + ") is not understood; the producer marked it required, so importing without it would be wrong");
  }

  private List<FileReference> references(XmlElement refs) throws OvfException {
    List<FileReference> out = new ArrayList<>();
    for (XmlElement f : refs.children()) {
      if (!f.localName().equals("File")) {
        continue;
      }
      String id = required(f, "id");
      String href = required(f, "href");
      checkHref(id, href);
      Long size = optionalCount(f, "size", "File " + id + " size");
      String compression = blankToNull(f.attr("compression"));
      if (compression != null && !compression.equalsIgnoreCase("gzip") && !compression.equalsIgnoreCase("identity")) {
        throw OvfException.unsupported(source + ": File " + id + " compression \"" + compression + "\" (only gzip)");
      }
      if (compression != null && compression.equalsIgnoreCase("identity")) {
        compression = null;
      }
      Long chunk = optionalCount(f, "chunkSize", "File " + id + " chunkSize");
      if (chunk != null && chunk == 0) {
        throw OvfException.bad(source + ": File " + id + " has chunkSize 0");
      }
      out.add(new FileReference(id, href, size, compression == null ? null : "gzip", chunk));
    }
    return out;
  }

  private void checkHref(String id, String href) throws OvfException {
    if (href.contains("://")) {
      warnings.add("File " + id + " is a URL (" + href + "): only files inside the package can be imported");
      return;
    }
    String h = href.replace('\\', '/');
    if (h.startsWith("/") || h.matches("^[A-Za-z]:.*") || h.equals("..") || h.startsWith("../") || h.contains("/../")
        || h.endsWith("/..") || h.isEmpty() || h.indexOf('\0') >= 0) {
      throw OvfException.bad(source + ": File " + id + " href \"" + href + "\" is not a path inside the package");
    }
  }

  private List<DeploymentOption> deploymentOptions(XmlElement section) throws OvfException {
    List<DeploymentOption> out = new ArrayList<>();
    for (XmlElement c : section.childrenNamed("Configuration")) {
      out.add(new DeploymentOption(required(c, "id"), c.childText("Label"), c.childText("Description"),
          "true".equalsIgnoreCase(String.valueOf(c.attr("default")).strip())));
    }
    return out;
  }

  private List<VirtualDisk> disks(List<XmlElement> elements, List<FileReference> files, Content content) throws OvfException {
    Set<String> fileIds = new HashSet<>();
    files.forEach(f -> fileIds.add(f.id()));
    Map<String, String> propertyDefaults = new HashMap<>();
    collectDefaults(content, propertyDefaults);
    List<VirtualDisk> out = new ArrayList<>();
    for (XmlElement d : elements) {
      String id = required(d, "diskId");
      String what = "Disk " + id;
      String capText = required(d, "capacity");
      if (capText.startsWith("${") && capText.endsWith("}")) {
        // DSP0243 9.1: the capacity may name a property; its default value is the capacity.
        String key = capText.substring(2, capText.length() - 1);
        String v = propertyDefaults.get(key);
        if (v == null) {
          throw OvfException.bad(source + ": " + what + " capacity refers to property " + key + ", which has no value");
        }
        capText = v;
      }
      long capacity = Units.bytes(Units.parseCount(capText, source + ": " + what + " capacity"),
          d.attr("capacityAllocationUnits"), source + ": " + what + " capacity");
      Long populated = optionalCount(d, "populatedSize", what + " populatedSize");
      String fileRef = blankToNull(d.attr("fileRef"));
      if (fileRef != null && !fileIds.contains(fileRef)) {
        throw OvfException.bad(source + ": " + what + " refers to file " + fileRef + ", which References does not list");
      }
      out.add(new VirtualDisk(id, capacity, populated, fileRef, blankToNull(d.attr("format")), blankToNull(d.attr("parentRef"))));
    }
    return out;
  }

  private static void collectDefaults(Content c, Map<String, String> out) {
    for (ProductInfo p : c.products()) {
      for (OvfProperty prop : p.properties()) {
        if (prop.value() != null) {
          out.putIfAbsent(prop.key(), prop.value());
          out.putIfAbsent(prop.fullKey(), prop.value());
        }
      }
    }
    if (c instanceof VirtualSystemCollection vsc) {
      for (Content m : vsc.members()) {
        collectDefaults(m, out);
      }
    }
  }

  private void checkParents(List<VirtualDisk> disks) throws OvfException {
    Map<String, VirtualDisk> byId = new HashMap<>();
    disks.forEach(d -> byId.put(d.id(), d));
    for (VirtualDisk d : disks) {
      Set<String> seen = new HashSet<>();
      VirtualDisk at = d;
      while (at.parentRef() != null) {
        if (!seen.add(at.id())) {
          throw OvfException.bad(source + ": Disk " + d.id() + " has a parentRef cycle");
        }
        VirtualDisk parent = byId.get(at.parentRef());
        if (parent == null) {
          throw OvfException.bad(source + ": Disk " + at.id() + " parentRef " + at.parentRef() + " is not a disk");
        }
        if (parent.capacityBytes() != at.capacityBytes()) {
          throw OvfException.bad(source + ": Disk " + at.id() + " is a delta of " + parent.id()
              + " but their capacities differ (" + at.capacityBytes() + " vs " + parent.capacityBytes() + ")");
        }
        at = parent;
      }
    }
  }

  private Content content(XmlElement e, String kind, int depth) throws OvfException {
    String id = required(e, "id");
    String name = e.childText("Name");
    if (name == null || name.isEmpty()) {
      name = id;
    }
    String info = e.childText("Info");
    List<ProductInfo> products = new ArrayList<>();
    List<String> eulas = new ArrayList<>();
    String annotation = null;
    OperatingSystem os = null;
    List<VirtualHardware> hardware = new ArrayList<>();
    List<StartupEntry> startup = new ArrayList<>();
    List<HardwareItem> allocation = new ArrayList<>();
    List<Content> members = new ArrayList<>();
    String vboxFirmware = null;
    String where = kind + " " + id;
    for (XmlElement c : e.children()) {
      String section = sectionName(c);
      switch (section) {
        case "Info", "Name" -> {}
        case "ProductSection" -> products.add(SectionReader.product(c, source));
        case "EulaSection" -> eulas.add(String.valueOf(c.childText("License")));
        case "AnnotationSection" -> annotation = c.childText("Annotation");
        case "OperatingSystemSection" -> os = operatingSystem(c);
        case "VirtualHardwareSection" -> hardware.add(SectionReader.hardware(c, source, warnings));
        case "StartupSection" -> startup.addAll(startup(c));
        case "ResourceAllocationSection" -> {
          for (XmlElement item : c.children()) {
            if (item.localName().endsWith("Item")) {
              allocation.add(SectionReader.item(item, source));
            }
          }
        }
        case "VirtualSystem", "VirtualSystemCollection" -> {
          if (kind.equals("VirtualSystem")) {
            throw OvfException.bad(source + ": " + where + " contains a " + section + " (" + c + ")");
          }
          if (depth >= 16) {
            throw OvfException.bad(source + ": VirtualSystemCollections nested deeper than 16");
          }
          members.add(content(c, section, depth + 1));
        }
        default -> {
          if (section.equals("Machine") && Namespaces.isVbox(c.namespace())) {
            vboxFirmware = vboxFirmware(c);
          } else {
            unknown(c, section, where);
          }
        }
      }
    }
    if (kind.equals("VirtualSystem")) {
      if (!startup.isEmpty()) {
        warnings.add(where + " has a StartupSection, which only applies to a collection: ignored");
      }
      return new VirtualSystem(id, name, info, os, List.copyOf(products), List.copyOf(eulas), annotation,
          List.copyOf(hardware), vboxFirmware);
    }
    checkUnique(members.stream().map(Content::id).toList(), "VirtualSystem id in " + where);
    return new VirtualSystemCollection(id, name, info, List.copyOf(products), List.copyOf(eulas), annotation,
        List.copyOf(startup), List.copyOf(allocation), List.copyOf(members));
  }

  private OperatingSystem operatingSystem(XmlElement c) throws OvfException {
    String idText = c.attr("id");
    int id = 0;
    if (idText != null && !idText.isBlank()) {
      long v = Units.parseCount(idText, source + ": OperatingSystemSection id");
      if (v > 65535) {
        throw OvfException.bad(source + ": OperatingSystemSection id " + v + " out of range");
      }
      id = (int) v;
    }
    String vmwType = null;
    for (XmlElement.Attribute a : c.attributes()) {
      if (a.localName().equals("osType") && Namespaces.isVmware(a.namespace())) {
        vmwType = a.value();
      }
    }
    return new OperatingSystem(id, c.attr("version"), c.childText("Description"), vmwType);
  }

  private List<StartupEntry> startup(XmlElement c) throws OvfException {
    List<StartupEntry> out = new ArrayList<>();
    for (XmlElement i : c.childrenNamed("Item")) {
      out.add(new StartupEntry(required(i, "id"), smallInt(i, "order"), smallInt(i, "startDelay"),
          "true".equalsIgnoreCase(String.valueOf(i.attr("waitingForGuest")).strip()), smallInt(i, "stopDelay"),
          i.attr("startAction"), i.attr("stopAction")));
    }
    return out;
  }

  private int smallInt(XmlElement e, String attr) throws OvfException {
    String v = e.attr(attr);
    if (v == null || v.isBlank()) {
      return 0;
    }
    long n = Units.parseCount(v, source + ": " + e + " " + attr);
    if (n > Integer.MAX_VALUE) {
      throw OvfException.bad(source + ": " + e + " " + attr + " " + n + " out of range");
    }
    return (int) n;
  }

  private static String vboxFirmware(XmlElement machine) {
    XmlElement hw = machine.child("Hardware");
    XmlElement fw = hw == null ? null : hw.child("Firmware");
    String type = fw == null ? null : fw.attr("type");
    return type == null ? "BIOS" : type;
  }

  private String required(XmlElement e, String attr) throws OvfException {
    String v = e.attr(attr);
    if (v == null || v.isBlank()) {
      throw OvfException.bad(source + ": " + e + " has no ovf:" + attr);
    }
    return v.strip();
  }

  private Long optionalCount(XmlElement e, String attr, String what) throws OvfException {
    String v = e.attr(attr);
    return v == null || v.isBlank() ? null : Units.parseCount(v, source + ": " + what);
  }

  private void checkUnique(List<String> ids, String what) throws OvfException {
    Set<String> seen = new HashSet<>();
    for (String id : ids) {
      if (!seen.add(id)) {
        throw OvfException.bad(source + ": duplicate " + what + " \"" + id + "\"");
      }
    }
  }

  static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }

  /** Returns the key/value pairs of VMware's {@code vmw:Config}/{@code vmw:ExtraConfig} children named {@code local}. */
  static Map<String, String> vmwKeyValues(XmlElement parent, String local) {
    Map<String, String> out = new LinkedHashMap<>();
    for (XmlElement c : parent.children()) {
      if (c.localName().equals(local) && Namespaces.isVmware(c.namespace())) {
        String key = c.attr(Namespaces.VMW, "key");
        String value = c.attr(Namespaces.VMW, "value");
        if (key == null) {
          key = c.attr("key");
          value = c.attr("value");
        }
        if (key != null) {
          out.put(key, value == null ? "" : value);
        }
      }
    }
    return out;
  }
}
