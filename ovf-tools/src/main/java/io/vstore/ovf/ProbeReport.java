package io.vstore.ovf;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code vstore ovf probe} shows of a descriptor, as ovftool's probe mode does: each virtual
 * system as it would be imported under the default deployment option, the disks, networks,
 * deployment options, properties, EULAs and warnings. Serialised as JSON with {@code --json}.
 */
public record ProbeReport(String source, String ovfVersion, String name, List<SystemEntry> systems, List<DiskEntry> disks,
    List<FileEntry> files, List<OvfNetwork> networks, List<DeploymentOption> deploymentOptions,
    List<PropertyEntry> properties, List<String> eulas, List<String> warnings) {

  /**
   * One VM: identity, CPUs, memory, and its disks, NICs, controllers and CD/DVD drives as mapped,
   * and the File id of its firmware's NVRAM ({@code nvram} ExtraConfig), or null.
   */
  public record SystemEntry(String id, String name, String collection, String guestOs, String firmware, int cpus,
      long memoryBytes, List<VmConfiguration.DiskDrive> disks, List<VmConfiguration.Nic> nics,
      List<VmConfiguration.Controller> controllers, List<VmConfiguration.CdDrive> cdDrives, List<String> systemTypes,
      String nvramFile) {}

  /** One disk: capacity, populated size, backing file, format and parent (a {@code parentRef} delta). */
  public record DiskEntry(String id, long capacityBytes, Long populatedBytes, String file, String href, Long fileSize,
      String format, String parent) {}

  /** One file of References. */
  public record FileEntry(String id, String href, Long size, String compression, Long chunkSize) {}

  /** One property with its product class and category. */
  public record PropertyEntry(String key, String type, String value, boolean userConfigurable, boolean password,
      String label, String description, String category, String system) {}

  /** Builds the report of {@code d}, read from {@code source}. */
  public static ProbeReport of(OvfDescriptor d, String source) throws OvfException {
    List<String> warnings = new ArrayList<>(d.warnings());
    List<SystemEntry> systems = new ArrayList<>();
    Map<String, String> collectionOf = new HashMap<>();
    collections(d.content(), null, collectionOf);
    for (VirtualSystem vs : d.systems()) {
      VmConfiguration c = HardwareMapping.map(d, vs, null, Map.of(), Map.of(), warnings);
      String nvram = c.extraConfig().get(ExportMedia.nvramKey());
      systems.add(new SystemEntry(vs.id(), vs.name(), collectionOf.get(vs.id()), c.guestOs(), c.firmware(), c.cpus(),
          c.memoryBytes(), c.disks(), c.nics(), c.controllers(), c.cdDrives(), c.systemTypes(),
          ExportMedia.isNvramReference(ExportMedia.nvramKey(), nvram)
              ? nvram.substring(ExportMedia.nvramReference("").length()) : null));
    }
    List<DiskEntry> disks = new ArrayList<>();
    for (VirtualDisk disk : d.disks()) {
      FileReference f = disk.fileRef() == null ? null : d.file(disk.fileRef()).orElse(null);
      disks.add(new DiskEntry(disk.id(), disk.capacityBytes(), disk.populatedBytes(), disk.fileRef(),
          f == null ? null : f.href(), f == null ? null : f.size(), disk.formatName(), disk.parentRef()));
    }
    List<FileEntry> files = d.files().stream()
        .map(f -> new FileEntry(f.id(), f.href(), f.size(), f.compression(), f.chunkSize())).toList();
    List<PropertyEntry> props = new ArrayList<>();
    List<String> eulas = new ArrayList<>();
    gather(d.content(), props, eulas);
    return new ProbeReport(source, d.version().label(), d.content().name(), List.copyOf(systems), List.copyOf(disks),
        files, d.networks(), d.deploymentOptions(), List.copyOf(props), List.copyOf(eulas), List.copyOf(warnings));
  }

  private static void collections(Content c, String parent, Map<String, String> out) {
    if (c instanceof VirtualSystemCollection vsc) {
      for (Content m : vsc.members()) {
        collections(m, vsc.id(), out);
      }
    } else if (parent != null) {
      out.put(c.id(), parent);
    }
  }

  private static void gather(Content c, List<PropertyEntry> props, List<String> eulas) {
    for (ProductInfo p : c.products()) {
      for (OvfProperty prop : p.properties()) {
        props.add(new PropertyEntry(prop.fullKey(), prop.type(), prop.value(), prop.userConfigurable(), prop.password(),
            prop.label(), prop.description(), prop.category(), c.id()));
      }
    }
    eulas.addAll(c.eulas());
    if (c instanceof VirtualSystemCollection vsc) {
      for (Content m : vsc.members()) {
        gather(m, props, eulas);
      }
    }
  }

  /** Returns the report as text for people, one fact per line. */
  public String text() {
    StringBuilder b = new StringBuilder();
    b.append("OVF ").append(ovfVersion).append(": ").append(name).append('\n');
    for (SystemEntry s : systems) {
      b.append("VM ").append(s.name()).append(" (id ").append(s.id())
          .append(s.collection() == null ? "" : ", in " + s.collection()).append("): ")
          .append(s.cpus()).append(" CPU, ").append(human(s.memoryBytes())).append(" memory, firmware ")
          .append(s.firmware()).append(s.guestOs() == null ? "" : ", guest " + s.guestOs()).append('\n');
      for (VmConfiguration.Controller c : s.controllers()) {
        b.append("  controller ").append(c.id()).append(": ").append(c.type())
            .append(c.model() == null ? "" : " " + c.model()).append(" bus ").append(c.busNumber()).append('\n');
      }
      for (VmConfiguration.DiskDrive dd : s.disks()) {
        b.append("  disk ").append(dd.diskId()).append(" on ").append(dd.controller()).append(':').append(dd.unit())
            .append(", ").append(human(dd.capacityBytes())).append('\n');
      }
      for (VmConfiguration.CdDrive cd : s.cdDrives()) {
        b.append("  cd ").append(cd.controller()).append(':').append(cd.unit())
            .append(cd.imageDisk() != null ? " disk " + cd.imageDisk() : cd.imageFile() != null ? " file " + cd.imageFile() : " empty")
            .append('\n');
      }
      if (s.nvramFile() != null) {
        b.append("  nvram file ").append(s.nvramFile()).append('\n');
      }
      for (VmConfiguration.Nic n : s.nics()) {
        b.append("  nic ").append(n.model() == null ? "(default)" : n.model()).append(" on ").append(n.network()).append('\n');
      }
    }
    for (DiskEntry d : disks) {
      b.append("disk ").append(d.id()).append(": capacity ").append(human(d.capacityBytes()))
          .append(d.populatedBytes() == null ? "" : ", populated " + human(d.populatedBytes()))
          .append(d.href() == null ? ", no file (created empty)" : ", file " + d.href())
          .append(d.format() == null ? "" : ", " + d.format())
          .append(d.parent() == null ? "" : ", delta of " + d.parent()).append('\n');
    }
    for (OvfNetwork n : networks) {
      b.append("network ").append(n.name()).append(n.description() == null ? "" : ": " + n.description()).append('\n');
    }
    for (DeploymentOption o : deploymentOptions) {
      b.append("deployment option ").append(o.id()).append(o.isDefault() ? " (default)" : "")
          .append(o.label() == null ? "" : ": " + o.label()).append('\n');
    }
    for (PropertyEntry p : properties) {
      b.append("property ").append(p.key()).append(" (").append(p.type()).append(") = ")
          .append(p.password() ? "********" : String.valueOf(p.value())).append('\n');
    }
    if (!eulas.isEmpty()) {
      b.append(eulas.size()).append(" EULA(s): --accept-eula is needed to import\n");
    }
    for (String w : warnings) {
      b.append("warning: ").append(w).append('\n');
    }
    return b.toString();
  }

  private static String human(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int i = 0;
    double v = bytes;
    while (v >= 1024 && i < units.length - 1 && bytes % 1024 == 0) {
      v /= 1024;
      i++;
      bytes /= 1024;
    }
    return (v == Math.floor(v) ? String.valueOf((long) v) : String.format("%.1f", v)) + " " + units[i];
  }
}
