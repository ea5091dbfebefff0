package io.vstore.ovf;

import io.vstore.ovf.pkg.OvaWriter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds the descriptor of an exported VM from its configuration and what the package writer wrote:
 * the inverse of {@link HardwareMapping}, so that importing the export maps to the same
 * configuration. Controllers keep their ids (disks name them as Parent); properties are written
 * with their current values as defaults.
 */
final class ExportDescriptor {
  private final List<HardwareItem> items = new ArrayList<>();
  private final Set<String> usedIds = new HashSet<>();
  private int nextId = 1;

  private ExportDescriptor() {}

  /**
   * Returns the descriptor of {@code members} (one VM, or the desktops of collection {@code collection}
   * when it is not null), with base disks {@code bases} (id → capacity) that the disks named in
   * {@code parentOf} are deltas of, and sizes from {@code written}.
   */
  static OvfDescriptor build(String collection, List<OvfExport.Member> members, Map<String, Long> bases,
      Map<String, String> parentOf, Map<String, OvaWriter.Written> written) {
    List<FileReference> files = new ArrayList<>();
    List<VirtualDisk> disks = new ArrayList<>();
    // Bases first: a reader streaming the package meets a delta's parent before the delta.
    for (Map.Entry<String, Long> base : bases.entrySet()) {
      OvaWriter.Written w = written.get(OvfExport.fileId(base.getKey()));
      files.add(file(w));
      disks.add(new VirtualDisk(base.getKey(), base.getValue(), w.populatedSize() >= 0 ? w.populatedSize() : null, w.id(),
          w.format() == null ? OvaWriter.STREAM_OPTIMIZED : w.format(), null));
    }
    Set<String> networkNames = new LinkedHashSet<>();
    List<Content> systems = new ArrayList<>();
    List<DeploymentOption> options = new ArrayList<>();
    for (OvfExport.Member m : members) {
      OvfExport.Described d = m.described();
      VmConfiguration c = d.config();
      for (VmConfiguration.DiskDrive dd : c.disks()) {
        OvaWriter.Written w = written.get(OvfExport.fileId(dd.diskId()));
        files.add(file(w));
        disks.add(new VirtualDisk(dd.diskId(), dd.capacityBytes(), w.populatedSize() >= 0 ? w.populatedSize() : null,
            w.id(), w.format() == null ? OvaWriter.STREAM_OPTIMIZED : w.format(), parentOf.get(dd.diskId())));
      }
      for (VmConfiguration.Nic n : c.nics()) {
        if (n.network() != null) {
          networkNames.add(n.network());
        }
      }
      systems.add(system(m.name(), d, m.mediaIds()));
      if (options.isEmpty()) {
        for (DeploymentOption o : d.options()) {
          // The hardware written is the chosen option's; it becomes the default so a re-import picks it.
          options.add(new DeploymentOption(o.id(), o.label(), o.description(), o.id().equals(c.deploymentOption())));
        }
      }
    }
    // Media files after every disk, as the package writer stores them: References order is package order.
    for (OvfExport.Member m : members) {
      for (String id : m.mediaIds().values()) {
        files.add(file(written.get(id)));
      }
    }
    List<OvfNetwork> networks = networkNames.stream().map(n -> new OvfNetwork(n, "The " + n + " network")).toList();
    Content content = collection == null ? systems.getFirst()
        : new VirtualSystemCollection(collection, collection, "A desktop pool", List.of(), List.of(), null, List.of(),
            List.of(), List.copyOf(systems));
    return new OvfDescriptor(OvfVersion.V1, List.copyOf(files), List.copyOf(disks), networks, List.copyOf(options), content,
        List.of());
  }

  private static FileReference file(OvaWriter.Written w) {
    return new FileReference(w.id(), w.href(), w.size(), w.compression(), w.chunkSize() > 0 ? w.chunkSize() : null);
  }

  private static VirtualSystem system(String name, OvfExport.Described d, Map<String, String> mediaIds) {
    VmConfiguration c = d.config();
    VirtualHardware hw = new ExportDescriptor().hardware(c, mediaIds);
    List<ProductInfo> products = new ArrayList<>();
    for (ProductInfo p : d.products()) {
      List<OvfProperty> props = new ArrayList<>();
      for (OvfProperty prop : p.properties()) {
        String value = c.properties().getOrDefault(prop.fullKey(), prop.value());
        // The value is resolved (option and --prop applied); per-option values would override it on re-import.
        props.add(new OvfProperty(prop.key(), prop.fullKey(), prop.type(), prop.qualifiers(), value,
            prop.userConfigurable(), prop.password(), prop.label(), prop.description(), prop.category(), List.of()));
      }
      products.add(new ProductInfo(p.className(), p.instance(), p.product(), p.vendor(), p.version(), p.fullVersion(),
          p.productUrl(), p.vendorUrl(), List.copyOf(props)));
    }
    OperatingSystem os = d.os();
    if (os == null && c.guestOs() != null) {
      os = new OperatingSystem(0, null, c.guestOs(), null);
    }
    return new VirtualSystem(c.ovfId() == null ? name : c.ovfId(), c.name() == null ? name : c.name(),
        "A virtual machine", os, List.copyOf(products), d.eulas(), null, List.of(hw), null);
  }

  private VirtualHardware hardware(VmConfiguration c, Map<String, String> mediaIds) {
    for (VmConfiguration.Controller k : c.controllers()) {
      usedIds.add(k.id());
    }
    Map<String, String> cpuVendor = c.coresPerSocket() > 0 ? Map.of("CoresPerSocket", Integer.toString(c.coresPerSocket())) : Map.of();
    add(HardwareItem.PROCESSOR, List.of(), c.cpus() + " virtual CPU(s)", null, null, List.of(), List.of(),
        (long) c.cpus(), "hertz * 10^6", null, null, cpuVendor);
    boolean mib = c.memoryBytes() % (1L << 20) == 0;
    add(HardwareItem.MEMORY, List.of(), "memory", null, null, List.of(), List.of(),
        mib ? c.memoryBytes() >> 20 : c.memoryBytes(), mib ? "byte * 2^20" : "byte", null, null, Map.of());
    for (VmConfiguration.Controller k : c.controllers()) {
      int type = switch (k.type()) {
        case "ide" -> HardwareItem.IDE_CONTROLLER;
        case "scsi" -> HardwareItem.SCSI_CONTROLLER;
        case "fc" -> HardwareItem.FC_HBA;
        default -> HardwareItem.OTHER_STORAGE;
      };
      String sub = k.model() != null ? k.model() : switch (k.type()) {
        case "sata" -> "vmware.sata.ahci";
        case "nvme" -> "vmware.nvme.controller";
        case "virtio" -> "virtio";
        default -> null;
      };
      items.add(new HardwareItem(k.id(), type, null, sub == null ? List.of() : List.of(sub.split(" ")),
          k.type() + " controller " + k.busNumber(), null, null, Integer.toString(k.busNumber()), null, List.of(), List.of(),
          null, null, null, null, List.of(), null, Map.of()));
    }
    for (VmConfiguration.DiskDrive dd : c.disks()) {
      add(HardwareItem.DISK_DRIVE, List.of(), "disk " + dd.diskId(), dd.controller(), Integer.toString(dd.unit()),
          List.of("ovf:/disk/" + dd.diskId()), List.of(), null, null, null, null, Map.of());
    }
    for (VmConfiguration.CdDrive cd : c.cdDrives()) {
      // A drive holding one of the VM's media files names its File; any other is written empty.
      add(cd.dvd() ? HardwareItem.DVD_DRIVE : HardwareItem.CD_DRIVE, List.of(), "cd", cd.controller(),
          Integer.toString(cd.unit()), fileResource(mediaIds, cd.media()), List.of(), null, null, null, null, Map.of());
    }
    for (VmConfiguration.FloppyDrive f : c.floppies()) {
      add(HardwareItem.FLOPPY, List.of(), "floppy " + f.unit(), null, null, fileResource(mediaIds, f.media()), List.of(),
          null, null, null, null, Map.of());
    }
    for (VmConfiguration.Nic n : c.nics()) {
      add(HardwareItem.ETHERNET, n.model() == null ? List.of() : List.of(n.model()), "network adapter", null, null,
          List.of(), n.network() == null ? List.of() : List.of(n.network()), null, null, n.mac(), n.connected(), Map.of());
    }
    for (VmConfiguration.SerialPort s : c.serialPorts()) {
      add(HardwareItem.SERIAL_PORT, List.of(), "serial port " + s.index(), null, null, List.of(),
          s.connection() == null ? List.of() : List.of(s.connection()), null, null, null, null, Map.of());
    }
    for (String u : c.usbControllers()) {
      add(HardwareItem.USB_CONTROLLER, u.equals("usb") ? List.of() : List.of(u.split(" ")), "USB controller", null, null,
          List.of(), List.of(), null, null, null, null, Map.of());
    }
    if (c.video() != null) {
      Map<String, String> v = new LinkedHashMap<>();
      if (c.video().videoMemoryBytes() > 0) {
        v.put("videoRamSizeInKB", Long.toString(c.video().videoMemoryBytes() / 1024));
      }
      v.put("numDisplays", Integer.toString(c.video().displays()));
      add(HardwareItem.GRAPHICS, c.video().model() == null ? List.of() : List.of(c.video().model().split(" ")), "video card",
          null, null, List.of(), List.of(), null, null, null, null, v);
    }
    Map<String, String> config = new LinkedHashMap<>(c.vendorConfig());
    if ("efi".equals(c.firmware())) {
      config.put("firmware", "efi");
    }
    Map<String, String> extra = new LinkedHashMap<>(c.extraConfig());
    String nvramId = c.nvram() == null ? null : mediaIds.get(c.nvram());
    if (nvramId != null) {
      extra.put(ExportMedia.nvramKey(), ExportMedia.nvramReference(nvramId));
    } else if (ExportMedia.isNvramReference(ExportMedia.nvramKey(), extra.get(ExportMedia.nvramKey()))) {
      // The file it named is not in the package: a reference to it would make the descriptor invalid.
      extra.remove(ExportMedia.nvramKey());
    }
    return new VirtualHardware(null, c.systemTypes(), List.copyOf(items), config, extra, null);
  }

  private static List<String> fileResource(Map<String, String> mediaIds, String media) {
    String id = media == null ? null : mediaIds.get(media);
    return id == null ? List.of() : List.of("ovf:/file/" + id);
  }

  private void add(int type, List<String> subTypes, String elementName, String parent, String addressOnParent,
      List<String> hostResources, List<String> connections, Long quantity, String units, String address,
      Boolean automatic, Map<String, String> vendor) {
    String id;
    do {
      id = Integer.toString(nextId++);
    } while (usedIds.contains(id));
    usedIds.add(id);
    items.add(new HardwareItem(id, type, null, subTypes, elementName, null, parent, address, addressOnParent,
        hostResources, connections, quantity, units, null, automatic, List.of(), null, vendor));
  }
}
