package io.vstore.ovf;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Writes an {@link OvfDescriptor} as an OVF 1.x (namespace {@code envelope/1}) or 2.x
 * ({@code envelope/2}) descriptor that validates against DMTF's DSP8023 schemas: CIM item properties
 * in the schema's (alphabetical) order, {@code ElementName} always present, in 2.x disks and drives
 * as {@code StorageItem} and NICs as {@code EthernetPortItem} after the plain items, and VMware's
 * {@code vmw:Config}/{@code vmw:ExtraConfig} where the schema allows foreign elements.
 */
public final class DescriptorWriter {
  private static final String CIM_BASE = Namespaces.CIM_BASE;
  private final XMLStreamWriter w;
  private final OvfVersion version;
  private final String ovf;
  private int depth;

  private DescriptorWriter(XMLStreamWriter w, OvfVersion version) {
    this.w = w;
    this.version = version;
    this.ovf = version == OvfVersion.V2 ? Namespaces.OVF2 : Namespaces.OVF1;
  }

  /** Returns {@code d} as UTF-8 descriptor bytes in OVF {@code version} (1.x or 2.x). */
  public static byte[] write(OvfDescriptor d, OvfVersion version) {
    if (version == OvfVersion.V0_9) {
      throw new IllegalArgumentException("OVF 0.9 is read, never written");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      XMLStreamWriter w = XMLOutputFactory.newDefaultFactory().createXMLStreamWriter(out, "UTF-8");
      new DescriptorWriter(w, version).envelope(d);
      w.close();
    } catch (XMLStreamException e) {
      // Writing to memory fails only on a bug (an invalid name), never on input.
      throw new IllegalStateException("cannot write descriptor", e);
    }
    return out.toByteArray();
  }

  private void envelope(OvfDescriptor d) throws XMLStreamException {
    w.writeStartDocument("UTF-8", "1.0");
    newline();
    w.setDefaultNamespace(ovf);
    w.writeStartElement(ovf, "Envelope");
    w.writeDefaultNamespace(ovf);
    w.writeNamespace("ovf", ovf);
    w.writeNamespace("rasd", Namespaces.RASD);
    w.writeNamespace("vssd", Namespaces.VSSD);
    if (version == OvfVersion.V2) {
      w.writeNamespace("sasd", Namespaces.SASD);
      w.writeNamespace("epasd", Namespaces.EPASD);
    }
    w.writeNamespace("vmw", Namespaces.VMW);
    w.writeAttribute(ovf, "version", version == OvfVersion.V2 ? "2.0" : "1.1");
    depth++;
    start("References");
    for (FileReference f : d.files()) {
      empty("File");
      attr("href", f.href());
      attr("id", f.id());
      if (f.size() != null) {
        attr("size", f.size().toString());
      }
      if (f.compression() != null) {
        attr("compression", f.compression());
      }
      if (f.chunkSize() != null) {
        attr("chunkSize", f.chunkSize().toString());
      }
    }
    end();
    if (!d.disks().isEmpty()) {
      start("DiskSection");
      info("Virtual disk information");
      for (VirtualDisk disk : d.disks()) {
        empty("Disk");
        attr("capacity", Long.toString(disk.capacityBytes()));
        attr("capacityAllocationUnits", "byte");
        attr("diskId", disk.id());
        if (disk.fileRef() != null) {
          attr("fileRef", disk.fileRef());
        }
        if (disk.format() != null) {
          attr("format", disk.format());
        }
        if (disk.parentRef() != null) {
          attr("parentRef", disk.parentRef());
        }
        if (disk.populatedBytes() != null) {
          attr("populatedSize", disk.populatedBytes().toString());
        }
      }
      end();
    }
    if (!d.networks().isEmpty()) {
      start("NetworkSection");
      info("The list of logical networks");
      for (OvfNetwork n : d.networks()) {
        start("Network");
        attr("name", n.name());
        textElement(ovf, "Description", n.description() == null ? "The " + n.name() + " network" : n.description());
        end();
      }
      end();
    }
    if (!d.deploymentOptions().isEmpty()) {
      start("DeploymentOptionSection");
      info("Deployment options");
      for (DeploymentOption o : d.deploymentOptions()) {
        start("Configuration");
        attr("id", o.id());
        if (o.isDefault()) {
          attr("default", "true");
        }
        textElement(ovf, "Label", o.label() == null ? o.id() : o.label());
        textElement(ovf, "Description", o.description() == null ? o.id() : o.description());
        end();
      }
      end();
    }
    content(d.content());
    depth--;
    newline();
    w.writeEndElement();
    newline();
    w.writeEndDocument();
  }

  private void content(Content c) throws XMLStreamException {
    boolean vs = c instanceof VirtualSystem;
    start(vs ? "VirtualSystem" : "VirtualSystemCollection");
    attr("id", c.id());
    info(vs ? "A virtual machine" : "A collection of virtual machines");
    textElement(ovf, "Name", c.name());
    for (ProductInfo p : c.products()) {
      product(p);
    }
    if (c.annotation() != null) {
      start("AnnotationSection");
      info("A human-readable annotation");
      textElement(ovf, "Annotation", c.annotation());
      end();
    }
    for (String eula : c.eulas()) {
      start("EulaSection");
      info("License agreement");
      textElement(ovf, "License", eula);
      end();
    }
    if (c instanceof VirtualSystem system) {
      if (system.operatingSystem() != null) {
        OperatingSystem os = system.operatingSystem();
        start("OperatingSystemSection");
        attr("id", Integer.toString(Math.min(os.id(), Short.MAX_VALUE)));
        if (os.version() != null) {
          attr("version", os.version());
        }
        if (os.vmwareOsType() != null) {
          w.writeAttribute(Namespaces.VMW, "osType", clean(os.vmwareOsType()));
        }
        info("The kind of installed guest operating system");
        if (os.description() != null) {
          textElement(ovf, "Description", os.description());
        }
        end();
      }
      for (VirtualHardware hw : system.hardware()) {
        hardware(hw, system);
      }
    } else if (c instanceof VirtualSystemCollection vsc) {
      if (!vsc.startup().isEmpty()) {
        start("StartupSection");
        info("Start-up order of the virtual machines");
        for (StartupEntry s : vsc.startup()) {
          empty("Item");
          attr("id", s.id());
          attr("order", Integer.toString(s.order()));
          attr("startDelay", Integer.toString(s.startDelay()));
          attr("waitingForGuest", Boolean.toString(s.waitingForGuest()));
          attr("stopDelay", Integer.toString(s.stopDelay()));
          if (s.startAction() != null) {
            attr("startAction", s.startAction());
          }
          if (s.stopAction() != null) {
            attr("stopAction", s.stopAction());
          }
        }
        end();
      }
      for (Content m : vsc.members()) {
        content(m);
      }
    }
    end();
  }

  private void product(ProductInfo p) throws XMLStreamException {
    start("ProductSection");
    if (p.className() != null) {
      attr("class", p.className());
    }
    if (p.instance() != null) {
      attr("instance", p.instance());
    }
    info("Information about the installed software");
    optionalText("Product", p.product());
    optionalText("Vendor", p.vendor());
    optionalText("Version", p.version());
    optionalText("FullVersion", p.fullVersion());
    optionalText("ProductUrl", p.productUrl());
    optionalText("VendorUrl", p.vendorUrl());
    String category = null;
    for (OvfProperty prop : p.properties()) {
      if (prop.category() != null && !prop.category().equals(category)) {
        category = prop.category();
        textElement(ovf, "Category", category);
      }
      start("Property");
      attr("key", prop.key());
      attr("type", prop.type() == null ? "string" : prop.type());
      if (prop.qualifiers() != null) {
        attr("qualifiers", prop.qualifiers());
      }
      if (prop.userConfigurable()) {
        attr("userConfigurable", "true");
      }
      if (prop.value() != null) {
        attr("value", prop.value());
      }
      if (prop.password()) {
        attr("password", "true");
      }
      optionalText("Label", prop.label());
      optionalText("Description", prop.description());
      for (String cv : prop.configurationValues()) {
        int eq = cv.indexOf('=');
        empty("Value");
        attr("value", cv.substring(eq + 1));
        attr("configuration", cv.substring(0, eq));
      }
      end();
    }
    end();
  }

  private void hardware(VirtualHardware hw, VirtualSystem system) throws XMLStreamException {
    start("VirtualHardwareSection");
    if (hw.transport() != null) {
      attr("transport", hw.transport());
    }
    info("Virtual hardware requirements");
    start("System");
    textElement(Namespaces.VSSD, "ElementName", "Virtual Hardware Family");
    textElement(Namespaces.VSSD, "InstanceID", "0");
    textElement(Namespaces.VSSD, "VirtualSystemIdentifier", system.name());
    if (!hw.systemTypes().isEmpty()) {
      textElement(Namespaces.VSSD, "VirtualSystemType", String.join(" ", hw.systemTypes()));
    }
    end();
    List<HardwareItem> plain = new ArrayList<>();
    List<HardwareItem> ethernet = new ArrayList<>();
    List<HardwareItem> storage = new ArrayList<>();
    for (HardwareItem i : hw.items()) {
      if (version == OvfVersion.V2 && isStorage(i.resourceType())) {
        storage.add(i);
      } else if (version == OvfVersion.V2 && i.resourceType() == HardwareItem.ETHERNET) {
        ethernet.add(i);
      } else {
        plain.add(i);
      }
    }
    for (HardwareItem i : plain) {
      item("Item", Namespaces.RASD, i);
    }
    for (HardwareItem i : ethernet) {
      item("EthernetPortItem", Namespaces.EPASD, i);
    }
    for (HardwareItem i : storage) {
      item("StorageItem", Namespaces.SASD, i);
    }
    Map<String, String> config = new java.util.LinkedHashMap<>(hw.vendorConfig());
    if (!config.containsKey("firmware") && system.vboxFirmware() != null
        && system.vboxFirmware().toUpperCase(java.util.Locale.ROOT).startsWith("EFI")) {
      // vbox:Machine cannot be written where the schema allows only sections; VMware's key carries EFI.
      config.put("firmware", "efi");
    }
    vmwKeyValues("Config", config);
    vmwKeyValues("ExtraConfig", hw.extraConfig());
    end();
  }

  private static boolean isStorage(int type) {
    return type == HardwareItem.DISK_DRIVE || type == HardwareItem.CD_DRIVE || type == HardwareItem.DVD_DRIVE
        || type == HardwareItem.FLOPPY || type == HardwareItem.LOGICAL_DISK;
  }

  /** Writes one item; the CIM properties go in the schemas' alphabetical order. */
  private void item(String element, String ns, HardwareItem i) throws XMLStreamException {
    start(element);
    if (!i.configurations().isEmpty()) {
      attr("configuration", String.join(" ", i.configurations()));
    }
    if (i.bound() != null) {
      attr("bound", i.bound());
    }
    optionalText(ns, "Address", i.address());
    optionalText(ns, "AddressOnParent", i.addressOnParent());
    optionalText(ns, "AllocationUnits", i.allocationUnits());
    if (i.automaticAllocation() != null) {
      textElement(ns, "AutomaticAllocation", i.automaticAllocation().toString());
    }
    for (String c : i.connections()) {
      textElement(ns, "Connection", c);
    }
    optionalText(ns, "Description", i.description());
    textElement(ns, "ElementName", i.elementName() == null ? "item " + i.instanceId() : i.elementName());
    for (String h : i.hostResources()) {
      textElement(ns, "HostResource", h);
    }
    textElement(ns, "InstanceID", i.instanceId());
    optionalText(ns, "OtherResourceType", i.otherResourceType());
    optionalText(ns, "Parent", i.parent());
    if (!i.subTypes().isEmpty()) {
      textElement(ns, "ResourceSubType", String.join(" ", i.subTypes()));
    }
    textElement(ns, "ResourceType", Integer.toString(i.resourceType()));
    if (i.virtualQuantity() != null) {
      textElement(ns, "VirtualQuantity", i.virtualQuantity().toString());
    }
    optionalText(ns, "VirtualQuantityUnits", i.virtualQuantityUnits());
    Map<String, String> vendor = new java.util.TreeMap<>(i.vendorConfig());
    String cores = vendor.remove("CoresPerSocket");
    if (cores != null) {
      newline();
      w.writeStartElement(Namespaces.VMW, "CoresPerSocket");
      w.writeAttribute(ovf, "required", "false");
      w.writeCharacters(clean(cores));
      w.writeEndElement();
    }
    vmwKeyValues("Config", vendor);
    end();
  }

  private void vmwKeyValues(String element, Map<String, String> values) throws XMLStreamException {
    for (Map.Entry<String, String> e : values.entrySet()) {
      newline();
      w.writeEmptyElement(Namespaces.VMW, element);
      w.writeAttribute(ovf, "required", "false");
      w.writeAttribute(Namespaces.VMW, "key", clean(e.getKey()));
      w.writeAttribute(Namespaces.VMW, "value", clean(e.getValue()));
    }
  }

  private void start(String local) throws XMLStreamException {
    newline();
    w.writeStartElement(ovf, local);
    depth++;
  }

  private void empty(String local) throws XMLStreamException {
    newline();
    w.writeEmptyElement(ovf, local);
  }

  private void end() throws XMLStreamException {
    depth--;
    newline();
    w.writeEndElement();
  }

  private void attr(String local, String value) throws XMLStreamException {
    w.writeAttribute(ovf, local, clean(value));
  }

  /** Replaces characters XML 1.0 cannot carry (controls, lone surrogates) with U+FFFD. */
  static String clean(String s) {
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD)
          || (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)))
          || (Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
      if (!ok && b == null) {
        b = new StringBuilder(s.substring(0, i));
      }
      if (b != null) {
        b.append(ok ? c : '\uFFFD');
      }
    }
    return b == null ? s : b.toString();
  }

  private void info(String text) throws XMLStreamException {
    textElement(ovf, "Info", text);
  }

  private void optionalText(String local, String text) throws XMLStreamException {
    optionalText(ovf, local, text);
  }

  private void optionalText(String ns, String local, String text) throws XMLStreamException {
    if (text != null) {
      textElement(ns, local, text);
    }
  }

  private void textElement(String ns, String local, String text) throws XMLStreamException {
    newline();
    w.writeStartElement(ns, local);
    w.writeCharacters(clean(text));
    w.writeEndElement();
  }

  private void newline() throws XMLStreamException {
    w.writeCharacters("\n" + "  ".repeat(Math.max(0, depth)));
  }
}
