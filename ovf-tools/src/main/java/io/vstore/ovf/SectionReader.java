package io.vstore.ovf;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads the sections with structure of their own: ProductSection, VirtualHardwareSection and its items. */
final class SectionReader {
  private SectionReader() {}

  /** Reads a {@code ProductSection} with its properties and categories. */
  static ProductInfo product(XmlElement s, String source) throws OvfException {
    String cls = DescriptorReader.blankToNull(s.attr("class"));
    String instance = DescriptorReader.blankToNull(s.attr("instance"));
    List<OvfProperty> props = new ArrayList<>();
    String category = null;
    for (XmlElement c : s.children()) {
      switch (c.localName()) {
        case "Category" -> category = c.text();
        case "Property" -> props.add(property(c, cls, instance, category, source));
        default -> {}
      }
    }
    return new ProductInfo(cls, instance, s.childText("Product"), s.childText("Vendor"), s.childText("Version"),
        s.childText("FullVersion"), s.childText("ProductUrl"), s.childText("VendorUrl"), List.copyOf(props));
  }

  private static OvfProperty property(XmlElement p, String cls, String instance, String category, String source)
      throws OvfException {
    String key = p.attr("key");
    if (key == null || key.isBlank()) {
      throw OvfException.bad(source + ": Property " + p + " has no ovf:key");
    }
    key = key.strip();
    StringBuilder full = new StringBuilder();
    if (cls != null) {
      full.append(cls).append('.');
    }
    full.append(key);
    if (instance != null) {
      full.append('.').append(instance);
    }
    List<String> perConfig = new ArrayList<>();
    for (XmlElement v : p.childrenNamed("Value")) {
      String conf = v.attr("configuration");
      String value = v.attr("value");
      if (conf != null && value != null) {
        perConfig.add(conf.strip() + "=" + value);
      }
    }
    return new OvfProperty(key, full.toString(), p.attr("type"), p.attr("qualifiers"), p.attr("value"),
        "true".equalsIgnoreCase(String.valueOf(p.attr("userConfigurable")).strip()),
        "true".equalsIgnoreCase(String.valueOf(p.attr("password")).strip()), p.childText("Label"),
        p.childText("Description"), category, List.copyOf(perConfig));
  }

  /** Reads a {@code VirtualHardwareSection}; unknown optional children become warnings. */
  static VirtualHardware hardware(XmlElement s, String source, List<String> warnings) throws OvfException {
    List<String> types = new ArrayList<>();
    List<HardwareItem> items = new ArrayList<>();
    for (XmlElement c : s.children()) {
      String n = c.localName();
      if (n.equals("Info") || n.equals("Config") || n.equals("ExtraConfig")) {
        continue;
      }
      if (n.equals("System")) {
        for (String t : c.childTexts("VirtualSystemType")) {
          // Multi-valued: several elements, or one holding a space- or comma-separated list.
          for (String one : t.split("[\\s,]+")) {
            if (!one.isEmpty()) {
              types.add(one);
            }
          }
        }
      } else if (n.equals("Item") || n.equals("StorageItem") || n.equals("EthernetPortItem")) {
        items.add(item(c, source));
      } else if ("false".equalsIgnoreCase(String.valueOf(c.attr("required")).strip())) {
        warnings.add("skipped optional element {" + c.namespace() + "}" + n + " in VirtualHardwareSection (line " + c.line() + ")");
      } else {
        throw OvfException.unsupported(source + ": required element {" + c.namespace() + "}" + n
            + " in VirtualHardwareSection (line " + c.line() + ") is not understood");
      }
    }
    Map<String, String> config = DescriptorReader.vmwKeyValues(s, "Config");
    Map<String, String> extra = DescriptorReader.vmwKeyValues(s, "ExtraConfig");
    return new VirtualHardware(DescriptorReader.blankToNull(s.attr("id")), List.copyOf(types), List.copyOf(items),
        config, extra, DescriptorReader.blankToNull(s.attr("transport")));
  }

  /** Reads one RASD, SASD or EPASD item (the CIM namespace does not matter, only local names). */
  static HardwareItem item(XmlElement i, String source) throws OvfException {
    String instanceId = first(i, "InstanceID", "InstanceId");
    if (instanceId == null) {
      throw OvfException.bad(source + ": " + i + " has no InstanceID");
    }
    String typeText = i.childText("ResourceType");
    if (typeText == null) {
      throw OvfException.bad(source + ": item " + instanceId + " (" + i + ") has no ResourceType");
    }
    long type = Units.parseCount(typeText, source + ": item " + instanceId + " ResourceType");
    if (type > 65535) {
      throw OvfException.bad(source + ": item " + instanceId + " ResourceType " + type + " out of range");
    }
    List<String> subTypes = new ArrayList<>();
    for (String t : i.childTexts("ResourceSubType")) {
      subTypes.addAll(Arrays.stream(t.split("\\s+")).filter(x -> !x.isEmpty()).toList());
    }
    String quantityText = i.childText("VirtualQuantity");
    Long quantity = quantityText == null || quantityText.isEmpty() ? null
        : Units.parseCount(quantityText, source + ": item " + instanceId + " VirtualQuantity");
    String auto = i.childText("AutomaticAllocation");
    String conf = i.attr("configuration");
    List<String> confs = conf == null ? List.of()
        : Arrays.stream(conf.strip().split("\\s+")).filter(x -> !x.isEmpty()).toList();
    Map<String, String> vendor = new LinkedHashMap<>(DescriptorReader.vmwKeyValues(i, "Config"));
    for (XmlElement c : i.children()) {
      // VMware writes a few item properties as elements of their own (vmw:CoresPerSocket).
      if (Namespaces.isVmware(c.namespace()) && !c.localName().equals("Config")) {
        vendor.put(c.localName(), c.text());
      }
    }
    return new HardwareItem(instanceId, (int) type, i.childText("OtherResourceType"), List.copyOf(subTypes),
        first(i, "ElementName", "Caption"), i.childText("Description"), DescriptorReader.blankToNull(i.childText("Parent")),
        DescriptorReader.blankToNull(i.childText("Address")), DescriptorReader.blankToNull(i.childText("AddressOnParent")),
        nonEmpty(i.childTexts("HostResource")), nonEmpty(i.childTexts("Connection")), quantity,
        DescriptorReader.blankToNull(i.childText("AllocationUnits")),
        DescriptorReader.blankToNull(i.childText("VirtualQuantityUnits")),
        auto == null ? null : Boolean.valueOf(auto.strip().equalsIgnoreCase("true")), confs,
        DescriptorReader.blankToNull(i.attr("bound")), Map.copyOf(vendor));
  }

  private static String first(XmlElement e, String a, String b) {
    String v = DescriptorReader.blankToNull(e.childText(a));
    return v != null ? v : DescriptorReader.blankToNull(e.childText(b));
  }

  private static List<String> nonEmpty(List<String> values) {
    return values.stream().filter(v -> !v.isEmpty()).toList();
  }
}
