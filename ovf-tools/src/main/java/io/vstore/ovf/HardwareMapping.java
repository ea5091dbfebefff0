package io.vstore.ovf;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Maps one virtual system's hardware, under one deployment option, to a {@link VmConfiguration}.
 * Items with the same {@code InstanceID} are alternatives: the one whose {@code ovf:configuration}
 * names the option wins over the one without. Memory honours its {@code AllocationUnits} exactly
 * (virt-v2v and govmomi assume MB); controllers of ResourceType 20 are told apart by subtype;
 * {@code Parent} may refer forward.
 */
public final class HardwareMapping {
  private final OvfDescriptor descriptor;
  private final VirtualSystem system;
  private final String option;
  private final List<String> warnings;

  private HardwareMapping(OvfDescriptor descriptor, VirtualSystem system, String option, List<String> warnings) {
    this.descriptor = descriptor;
    this.system = system;
    this.option = option;
    this.warnings = warnings;
  }

  /**
   * Returns the configuration of {@code system} under deployment option {@code option} ({@code null}:
   * the descriptor's default), with {@code networks} renaming OVF networks and {@code propertyValues}
   * overriding property defaults by key or full key; notes go to {@code warnings}.
   */
  public static VmConfiguration map(OvfDescriptor descriptor, VirtualSystem system, String option,
      Map<String, String> networks, Map<String, String> propertyValues, List<String> warnings) throws OvfException {
    String chosen = option == null ? descriptor.defaultDeploymentOption() : option;
    if (option != null && descriptor.deploymentOptions().stream().noneMatch(o -> o.id().equals(option))) {
      throw OvfException.bad("deployment option " + option + " is not one of "
          + descriptor.deploymentOptions().stream().map(DeploymentOption::id).toList());
    }
    return new HardwareMapping(descriptor, system, chosen, warnings).map(networks, propertyValues);
  }

  private VmConfiguration map(Map<String, String> networks, Map<String, String> propertyValues) throws OvfException {
    String where = "VirtualSystem " + system.id();
    if (system.hardware().isEmpty()) {
      throw OvfException.bad(where + " has no VirtualHardwareSection");
    }
    VirtualHardware hw = system.hardware().getFirst();
    if (system.hardware().size() > 1) {
      warnings.add(where + " offers " + system.hardware().size() + " VirtualHardwareSections; the first ("
          + hw.systemTypes() + ") is used");
    }
    List<HardwareItem> items = effectiveItems(hw);
    Map<String, HardwareItem> byId = new HashMap<>();
    items.forEach(i -> byId.put(i.instanceId(), i));

    int cpus = 0;
    int cores = 0;
    long memory = -1;
    List<VmConfiguration.Controller> controllers = new ArrayList<>();
    Map<String, Integer> busCounts = new HashMap<>();
    for (HardwareItem i : items) {
      String type = controllerType(i);
      if (type != null) {
        int bus = i.address() != null && i.address().matches("\\d{1,4}") ? Integer.parseInt(i.address())
            : busCounts.getOrDefault(type, 0);
        busCounts.merge(type, 1, Integer::sum);
        controllers.add(new VmConfiguration.Controller(i.instanceId(), type,
            i.subTypes().isEmpty() ? null : String.join(" ", i.subTypes()), bus));
      }
    }
    List<VmConfiguration.DiskDrive> disks = new ArrayList<>();
    List<VmConfiguration.CdDrive> cds = new ArrayList<>();
    List<VmConfiguration.FloppyDrive> floppies = new ArrayList<>();
    List<VmConfiguration.Nic> nics = new ArrayList<>();
    List<VmConfiguration.SerialPort> serials = new ArrayList<>();
    List<String> usb = new ArrayList<>();
    List<String> other = new ArrayList<>();
    VmConfiguration.Video video = null;
    Map<String, Integer> nextUnit = new HashMap<>();
    for (HardwareItem i : items) {
      String what = where + " item " + i.instanceId();
      switch (i.resourceType()) {
        case HardwareItem.PROCESSOR -> {
          cpus = (int) Math.min(Integer.MAX_VALUE, i.virtualQuantity() == null ? 1 : i.virtualQuantity());
          String c = i.vendorConfig().get("CoresPerSocket");
          if (c != null && c.matches("\\d{1,6}")) {
            cores = Integer.parseInt(c);
          }
        }
        case HardwareItem.MEMORY -> memory = memoryBytes(i, what);
        case HardwareItem.DISK_DRIVE, HardwareItem.LOGICAL_DISK -> disks.add(disk(i, what, byId, nextUnit));
        case HardwareItem.CD_DRIVE, HardwareItem.DVD_DRIVE -> cds.add(cd(i, what, byId, nextUnit));
        case HardwareItem.FLOPPY -> floppies.add(new VmConfiguration.FloppyDrive(floppies.size(), fileRef(i, what), null));
        case HardwareItem.ETHERNET, HardwareItem.OTHER_NETWORK -> nics.add(nic(i, what, networks));
        case HardwareItem.SERIAL_PORT -> serials.add(new VmConfiguration.SerialPort(serials.size(),
            i.connections().isEmpty() ? null : i.connections().getFirst()));
        case HardwareItem.USB_CONTROLLER -> usb.add(i.subTypes().isEmpty() ? "usb" : String.join(" ", i.subTypes()));
        case HardwareItem.GRAPHICS -> video = video(i);
        default -> {
          if (controllerType(i) == null) {
            other.add(otherName(i));
          }
        }
      }
    }
    if (cpus == 0) {
      warnings.add(where + " names no processor item: 1 CPU");
      cpus = 1;
    }
    if (memory < 0) {
      throw OvfException.bad(where + " has no memory item (ResourceType 4)");
    }
    String firmware = firmware(hw);
    Map<String, String> properties = properties(propertyValues);
    OperatingSystem os = system.operatingSystem();
    String guest = os == null ? null : os.vmwareOsType() != null ? os.vmwareOsType() : os.description();
    return new VmConfiguration(system.name(), system.id(), cpus, cores, memory, firmware, guest, hw.systemTypes(),
        List.copyOf(controllers), List.copyOf(disks), List.copyOf(cds), List.copyOf(floppies), List.copyOf(nics),
        List.copyOf(serials), List.copyOf(usb), video, List.copyOf(other), vendorConfigWithoutFirmware(hw), hw.extraConfig(), option,
        properties, null);
  }

  /** Picks, per InstanceID, the item for the option (or the one without configuration), skipping min/max bounds. */
  private List<HardwareItem> effectiveItems(VirtualHardware hw) {
    Map<String, HardwareItem> chosen = new LinkedHashMap<>();
    for (HardwareItem i : hw.items()) {
      if (i.bound() != null && !i.bound().equalsIgnoreCase("normal")) {
        continue;
      }
      if (!i.appliesTo(option)) {
        continue;
      }
      HardwareItem prior = chosen.get(i.instanceId());
      if (prior == null || (prior.configurations().isEmpty() && !i.configurations().isEmpty())) {
        chosen.put(i.instanceId(), i);
      } else if (prior.configurations().isEmpty() == i.configurations().isEmpty()) {
        // Two items with one InstanceID and the same standing: keep both, as producers do reuse ids.
        chosen.put(i.instanceId() + "#" + chosen.size(), i);
      }
    }
    return List.copyOf(chosen.values());
  }

  /** Returns the bus type of a controller item, or {@code null} when the item is not a storage controller. */
  static String controllerType(HardwareItem i) {
    String sub = String.join(" ", i.subTypes()).toLowerCase(Locale.ROOT);
    return switch (i.resourceType()) {
      case HardwareItem.IDE_CONTROLLER -> "ide";
      case HardwareItem.SCSI_CONTROLLER -> "scsi";
      case HardwareItem.FC_HBA -> "fc";
      case HardwareItem.OTHER_STORAGE -> sub.contains("nvme") ? "nvme"
          : sub.contains("ahci") || sub.contains("sata") ? "sata"
          : sub.contains("virtio") ? "virtio"
          : sub.contains("ide") || sub.contains("piix") ? "ide"
          : sub.contains("scsi") || sub.contains("lsilogic") || sub.contains("buslogic") || sub.contains("pvscsi") ? "scsi"
          : sub.contains("floppy") || sub.contains("i82078") ? null
          : "other";
      default -> null;
    };
  }

  private long memoryBytes(HardwareItem i, String what) throws OvfException {
    long q = i.virtualQuantity() == null ? 0 : i.virtualQuantity();
    String units = i.allocationUnits() != null ? i.allocationUnits() : i.virtualQuantityUnits();
    if (units == null) {
      warnings.add(what + ": memory has no AllocationUnits; read as MiB (DSP0243 default practice)");
      units = "byte * 2^20";
    }
    return Units.bytes(q, units, what + " memory");
  }

  private VmConfiguration.DiskDrive disk(HardwareItem i, String what, Map<String, HardwareItem> byId,
      Map<String, Integer> nextUnit) throws OvfException {
    String controller = controllerOf(i, what, byId);
    int unit = unit(i, controller, nextUnit, what);
    String ref = hostResource(i);
    if (ref == null) {
      long cap = 0;
      if (i.virtualQuantity() != null && i.allocationUnits() != null) {
        cap = Units.bytes(i.virtualQuantity(), i.allocationUnits(), what + " capacity");
      }
      warnings.add(what + ": disk drive names no disk; " + (cap > 0 ? "an empty disk of " + cap + " bytes" : "left out"));
      return new VmConfiguration.DiskDrive(null, controller, unit, cap);
    }
    if (!ref.startsWith("disk/")) {
      throw OvfException.bad(what + ": disk drive HostResource \"" + i.hostResources().getFirst() + "\" is not a disk");
    }
    String diskId = ref.substring(5);
    VirtualDisk d = descriptor.disk(diskId)
        .orElseThrow(() -> OvfException.bad(what + ": HostResource names disk " + diskId + ", which DiskSection does not list"));
    return new VmConfiguration.DiskDrive(diskId, controller, unit, d.capacityBytes());
  }

  private VmConfiguration.CdDrive cd(HardwareItem i, String what, Map<String, HardwareItem> byId,
      Map<String, Integer> nextUnit) throws OvfException {
    String controller = controllerOf(i, what, byId);
    int unit = unit(i, controller, nextUnit, what);
    String ref = hostResource(i);
    String disk = null;
    String file = null;
    if (ref != null && ref.startsWith("disk/")) {
      disk = ref.substring(5);
      if (descriptor.disk(disk).isEmpty()) {
        throw OvfException.bad(what + ": CD/DVD names disk " + disk + ", which DiskSection does not list");
      }
    } else if (ref != null && ref.startsWith("file/")) {
      file = checkedFile(ref.substring(5), what);
    }
    return new VmConfiguration.CdDrive(controller, unit, disk, file, i.resourceType() == HardwareItem.DVD_DRIVE, null);
  }

  private String fileRef(HardwareItem i, String what) throws OvfException {
    String ref = hostResource(i);
    return ref != null && ref.startsWith("file/") ? checkedFile(ref.substring(5), what) : null;
  }

  private String checkedFile(String id, String what) throws OvfException {
    if (descriptor.file(id).isEmpty()) {
      throw OvfException.bad(what + ": HostResource names file " + id + ", which References does not list");
    }
    return id;
  }

  /** Returns the first HostResource as {@code disk/ID} or {@code file/ID} ({@code ovf:} and leading slashes dropped). */
  private static String hostResource(HardwareItem i) {
    for (String h : i.hostResources()) {
      String r = h.strip();
      if (r.regionMatches(true, 0, "ovf:", 0, 4)) {
        r = r.substring(4);
      }
      while (r.startsWith("/")) {
        r = r.substring(1);
      }
      if (!r.isEmpty()) {
        return r;
      }
    }
    return null;
  }

  private String controllerOf(HardwareItem i, String what, Map<String, HardwareItem> byId) throws OvfException {
    if (i.parent() == null) {
      return null;
    }
    HardwareItem parent = byId.get(i.parent());
    if (parent == null) {
      // The parent may be an item of another deployment option only; look through all items.
      boolean exists = system.hardware().getFirst().items().stream().anyMatch(x -> x.instanceId().equals(i.parent()));
      if (!exists) {
        throw OvfException.bad(what + ": Parent " + i.parent() + " is not an item of this VirtualHardwareSection");
      }
      warnings.add(what + ": Parent " + i.parent() + " is not present under this deployment option");
      return null;
    }
    if (controllerType(parent) == null) {
      throw OvfException.bad(what + ": Parent " + i.parent() + " is not a storage controller (ResourceType "
          + parent.resourceType() + ")");
    }
    return parent.instanceId();
  }

  private static int unit(HardwareItem i, String controller, Map<String, Integer> nextUnit, String what) throws OvfException {
    String key = String.valueOf(controller);
    if (i.addressOnParent() != null) {
      if (!i.addressOnParent().matches("\\d{1,4}")) {
        throw OvfException.bad(what + ": AddressOnParent \"" + i.addressOnParent() + "\" is not a unit number");
      }
      int u = Integer.parseInt(i.addressOnParent());
      nextUnit.merge(key, u + 1, Math::max);
      return u;
    }
    int u = nextUnit.getOrDefault(key, 0);
    nextUnit.put(key, u + 1);
    return u;
  }

  private static VmConfiguration.Nic nic(HardwareItem i, String what, Map<String, String> networks) {
    String net = i.connections().isEmpty() ? null : i.connections().getFirst();
    if (net != null && networks.containsKey(net)) {
      net = networks.get(net);
    }
    String model = i.subTypes().isEmpty() ? null : i.subTypes().getFirst();
    return new VmConfiguration.Nic(model, net, i.address(), !Boolean.FALSE.equals(i.automaticAllocation()));
  }

  private static VmConfiguration.Video video(HardwareItem i) {
    long vram = 0;
    String kb = i.vendorConfig().get("videoRamSizeInKB");
    if (kb != null && kb.matches("\\d{1,12}")) {
      vram = Long.parseLong(kb) * 1024;
    }
    int displays = 1;
    String n = i.vendorConfig().get("numDisplays");
    if (n != null && n.matches("\\d{1,3}")) {
      displays = Integer.parseInt(n);
    }
    return new VmConfiguration.Video(i.subTypes().isEmpty() ? null : String.join(" ", i.subTypes()), vram, displays);
  }

  private static String otherName(HardwareItem i) {
    String sub = i.subTypes().isEmpty() ? "" : " " + String.join(" ", i.subTypes());
    return "type " + i.resourceType() + sub + (i.elementName() == null ? "" : " (" + i.elementName() + ")");
  }

  /** Returns VMware's section-level config without {@code firmware}, which {@link VmConfiguration#firmware} holds. */
  private static Map<String, String> vendorConfigWithoutFirmware(VirtualHardware hw) {
    Map<String, String> out = new LinkedHashMap<>(hw.vendorConfig());
    out.remove("firmware");
    return out;
  }

  private String firmware(VirtualHardware hw) {
    String vmw = hw.vendorConfig().get("firmware");
    if (vmw != null) {
      return vmw.toLowerCase(Locale.ROOT).startsWith("efi") ? "efi" : "bios";
    }
    if (system.vboxFirmware() != null) {
      return system.vboxFirmware().toUpperCase(Locale.ROOT).startsWith("EFI") ? "efi" : "bios";
    }
    return "bios";
  }

  /** Returns full key → value: defaults, then the option's values, then the caller's overrides. */
  private Map<String, String> properties(Map<String, String> overrides) throws OvfException {
    Map<String, String> out = new LinkedHashMap<>();
    Map<String, String> shortToFull = new HashMap<>();
    List<ProductInfo> products = new ArrayList<>(system.products());
    for (ProductInfo p : descriptor.content().products()) {
      if (!products.contains(p)) {
        products.add(p);
      }
    }
    for (ProductInfo p : products) {
      for (OvfProperty prop : p.properties()) {
        String value = prop.value() == null ? "" : prop.value();
        for (String cv : prop.configurationValues()) {
          int eq = cv.indexOf('=');
          if (option != null && cv.substring(0, eq).equals(option)) {
            value = cv.substring(eq + 1);
          }
        }
        out.put(prop.fullKey(), value);
        shortToFull.putIfAbsent(prop.key(), prop.fullKey());
      }
    }
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      String full = out.containsKey(e.getKey()) ? e.getKey() : shortToFull.get(e.getKey());
      if (full == null) {
        continue; // another VM of the collection may own it; ImportPlan checks that every key is used
      }
      out.put(full, e.getValue());
    }
    return out;
  }
}
