package io.vstore.ovf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.engine.Desktop;
import io.vstore.engine.DesktopPool;
import io.vstore.engine.Inventory;
import io.vstore.engine.MediaFile;
import io.vstore.engine.VirtualMachine;
import io.vstore.ovf.pkg.DigestAlgorithm;
import io.vstore.ovf.pkg.OvaWriter;
import io.vstore.ovf.pkg.PackageSigner;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Exports a VM of the inventory as an OVF package through the package layer's {@link OvaWriter}:
 * an OVA or OVF directory, its disks as streamOptimized VMDK written straight from the volumes. A VM
 * imported from OVF is described from the configuration it was imported with (hardware, properties
 * with their current values, deployment options, EULAs, guest OS); any other VM from what its
 * configuration says of CPUs, memory and firmware, its disks on one SCSI controller.
 */
public final class OvfExport {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What to export and how.
   *
   * @param digest the manifest digest, null for no manifest
   * @param signer signs the manifest, or null
   * @param chunkSize the chunk size of disk files, 0 for whole files
   * @param version {@link OvfVersion#V1} or {@link OvfVersion#V2}
   */
  public record Request(String vm, Path target, DigestAlgorithm digest, PackageSigner signer, long chunkSize,
      boolean compress, OvfVersion version) {}

  /** What was written. */
  public record Result(Path target, List<String> files, long bytes, List<String> warnings) {}

  private OvfExport() {}

  /** Returns the bytes of volume the export of VM or pool {@code name} will read, for a progress bar. */
  public static long totalBytes(Inventory inventory, String name) throws IOException {
    long total = 0;
    for (Member m : members(inventory, name, new ArrayList<>())) {
      for (String d : m.volumes()) {
        // A linked clone's base is read too (once per snapshot; counted per disk here, an upper bound).
        VolumeInfo info = inventory.datastore().volumeInfo(d);
        total += info.size() * (info.parent() == null ? 1 : 2);
      }
      if (!m.mediaIds().isEmpty()) {
        VirtualMachine vm = inventory.vms().get(m.name());
        for (String media : m.mediaIds().keySet()) {
          total += vm.mediaFile(media).size();
        }
      }
    }
    return total;
  }

  /**
   * One virtual system of the package: its name, configuration, volumes (in the order of its disks)
   * and the media files its drives and firmware hold (name → the File id they go out as, in package order).
   */
  record Member(String name, Described described, List<String> volumes, Map<String, String> mediaIds) {}

  /**
   * Writes VM or desktop pool {@code req.vm()} to {@code req.target()}; on failure nothing is left at
   * the target. A pool becomes a VirtualSystemCollection of its desktops, each described like the
   * pool's base VM, their system disks as deltas over the replica.
   */
  public static Result run(Inventory inventory, Request req, LongConsumer progress) throws IOException {
    Datastore store = inventory.datastore();
    List<String> warnings = new ArrayList<>();
    List<Member> members = members(inventory, req.vm(), warnings);
    boolean pool = inventory.vms().list().stream().noneMatch(v -> v.name().equals(req.vm()));
    List<BlockDevice> open = new ArrayList<>();
    try {
      List<OvaWriter.Item> items = new ArrayList<>();
      // A linked clone goes out as its snapshot (a base, once however many disks share it) and a delta.
      Map<String, String> baseIdBySnapshot = new LinkedHashMap<>();
      Map<String, Long> baseSizes = new LinkedHashMap<>();
      Map<String, String> parentOf = new LinkedHashMap<>();
      List<OvaWriter.Item> deltas = new ArrayList<>();
      for (Member m : members) {
        for (int i = 0; i < m.volumes().size(); i++) {
          String volume = m.volumes().get(i);
          VmConfiguration.DiskDrive dd = m.described().config().disks().get(i);
          String adapter = adapterType(m.described().config(), dd);
          String href = (pool ? "" : m.name() + "-") + dd.diskId() + ".vmdk";
          Volume dev = store.volume(volume, true);
          open.add(dev);
          String parent = store.volumeInfo(volume).parent();
          if (parent != null) {
            Volume base = store.volume(parent, true);
            open.add(base);
            if (base.size() == dev.size()) {
              String baseId = baseIdBySnapshot.get(parent);
              if (baseId == null) {
                baseId = "base-" + parent.replaceAll("[^A-Za-z0-9._-]", "_");
                baseIdBySnapshot.put(parent, baseId);
                baseSizes.put(baseId, base.size());
                items.add(new OvaWriter.Disk(fileId(baseId), baseId + ".vmdk", base, adapter));
              }
              parentOf.put(dd.diskId(), baseId);
              deltas.add(new OvaWriter.Disk(fileId(dd.diskId()), href, new CloneDelta(dev, OvaWriter.GRAIN), adapter, true));
              continue;
            }
            warnings.add("disk " + volume + " was resized after cloning " + parent + ": exported whole, not as a delta");
          }
          deltas.add(new OvaWriter.Disk(fileId(dd.diskId()), href, dev, adapter));
        }
      }
      items.addAll(deltas);
      Set<String> ids = new HashSet<>();
      Set<String> hrefs = new HashSet<>(List.of(req.vm() + ".ovf", req.vm() + ".mf", req.vm() + ".cert"));
      items.forEach(it -> {
        ids.add(it.id());
        hrefs.add(it.href());
      });
      for (Member m : members) {
        VirtualMachine vm = pool ? null : inventory.vms().get(m.name());
        for (Map.Entry<String, String> e : m.mediaIds().entrySet()) {
          MediaFile f = vm.mediaFile(e.getKey());
          if (!ids.add(e.getValue())) {
            throw new IllegalStateException("file id " + e.getValue() + " of media file " + f.name() + " is taken");
          }
          Volume dev = store.volume(f.volume(), true);
          open.add(dev);
          // The file keeps its name, so a re-import names it the same, unless a disk's name is taken.
          String href = hrefs.add(f.name()) ? f.name() : m.name() + "-media-" + f.name();
          hrefs.add(href);
          items.add(new OvaWriter.Raw(e.getValue(), href, dev, f.size()));
        }
      }
      OvaWriter.Options options = new OvaWriter.Options(req.digest(), req.signer(), req.chunkSize(), req.compress());
      String collection = pool ? req.vm() : null;
      OvaWriter.Result r = OvaWriter.write(req.target(), req.vm() + ".ovf",
          written -> DescriptorWriter.write(ExportDescriptor.build(collection, members, baseSizes, parentOf, written),
              req.version()),
          items, options, progress);
      return new Result(r.target(), new ArrayList<>(r.files().keySet()), r.bytes(), List.copyOf(warnings));
    } finally {
      IOException failure = null;
      for (BlockDevice d : open) {
        try {
          d.close();
        } catch (IOException e) {
          failure = failure == null ? e : failure;
        }
      }
      if (failure != null) {
        throw failure;
      }
    }
  }

  /** Returns the VM {@code name} as one member, or the desktops of pool {@code name}. */
  static List<Member> members(Inventory inventory, String name, List<String> warnings) throws IOException {
    Datastore store = inventory.datastore();
    if (inventory.vms().list().stream().anyMatch(v -> v.name().equals(name))) {
      VirtualMachine vm = inventory.vms().get(name);
      List<Long> sizes = new ArrayList<>();
      for (String d : vm.disks()) {
        sizes.add(store.volumeInfo(d).size());
      }
      Described d = describe(vm, sizes, warnings);
      Map<String, String> mediaIds = new LinkedHashMap<>();
      VmConfiguration c = ExportMedia.attach(vm, d.config(), mediaIds, warnings);
      return List.of(new Member(vm.name(), new Described(c, d.products(), d.options(), d.eulas(), d.os()), vm.disks(),
          mediaIds));
    }
    if (inventory.pools().list().stream().noneMatch(p -> p.name().equals(name))) {
      throw new OvfException("no VM or desktop pool named " + name);
    }
    DesktopPool pool = inventory.pools().get(name);
    if (!pool.atHome()) {
      // Its desktops' disks are read from this datastore only.
      throw new OvfException("cannot export desktop pool " + name + ": some of its desktops live in other datastores"
          + " (pool rebalance); bring them back first (vstore pool set " + name + " --datastores "
          + store.path().toAbsolutePath().normalize() + ", then vstore pool rebalance " + name + ")");
    }
    SnapshotRef base = SnapshotRef.parse(pool.base());
    VirtualMachine baseVm = inventory.vms().get(base.volume());
    List<Member> out = new ArrayList<>();
    for (Desktop desk : pool.desktops()) {
      List<String> volumes = new ArrayList<>(desk.volumes());
      List<Long> sizes = new ArrayList<>();
      for (String v : volumes) {
        sizes.add(store.volumeInfo(v).size());
      }
      Described d = describe(baseVm, sizes.subList(0, desk.systemDisks().size()), warnings);
      VmConfiguration c = d.config();
      List<VmConfiguration.DiskDrive> disks = new ArrayList<>();
      String controller = c.disks().isEmpty() ? null : c.disks().getFirst().controller();
      int unit = c.disks().stream().mapToInt(VmConfiguration.DiskDrive::unit).max().orElse(-1);
      for (int i = 0; i < volumes.size(); i++) {
        VmConfiguration.DiskDrive dd = i < c.disks().size() ? c.disks().get(i)
            : new VmConfiguration.DiskDrive(null, controller, ++unit, sizes.get(i));
        // Disk ids are unique in a descriptor: each desktop's carry its name.
        disks.add(new VmConfiguration.DiskDrive(desk.name() + "-disk" + i, dd.controller(), dd.unit(), sizes.get(i)));
      }
      // A desktop's drives are the base VM's; its media files stay with the base VM, not with every desktop.
      VmConfiguration dc = ExportMedia.attach(null, new VmConfiguration(desk.name(), desk.name(), c.cpus(), c.coresPerSocket(),
          c.memoryBytes(), c.firmware(), c.guestOs(), c.systemTypes(), c.controllers(), List.copyOf(disks), c.cdDrives(),
          c.floppies(), c.nics(), c.serialPorts(), c.usbControllers(), c.video(), c.otherDevices(), c.vendorConfig(),
          c.extraConfig(), c.deploymentOption(), c.properties(), c.nvram()), new LinkedHashMap<>(), new ArrayList<>());
      out.add(new Member(desk.name(), new Described(dc, d.products(), d.options(), d.eulas(), d.os()), volumes, Map.of()));
    }
    if (out.isEmpty()) {
      throw new OvfException("pool " + name + " has no desktops to export");
    }
    return out;
  }

  static String fileId(String diskId) {
    return "file-" + diskId;
  }

  private static String adapterType(VmConfiguration c, VmConfiguration.DiskDrive dd) {
    for (VmConfiguration.Controller k : c.controllers()) {
      if (k.id().equals(dd.controller())) {
        if (k.type().equals("ide")) {
          return "ide";
        }
        if (k.model() != null && k.model().toLowerCase(java.util.Locale.ROOT).contains("buslogic")) {
          return "buslogic";
        }
      }
    }
    return "lsilogic";
  }

  /** A VM's configuration with the OVF sections kept beside it at import. */
  record Described(VmConfiguration config, List<ProductInfo> products, List<DeploymentOption> options,
      List<String> eulas, OperatingSystem os) {}

  /** Reads the VM's stored configuration, or describes a VM that was not imported from OVF. */
  static Described describe(VirtualMachine vm, List<Long> diskSizes, List<String> warnings) throws IOException {
    JsonNode cfg = vm.config();
    try {
      if (cfg != null && cfg.has(OvfImport.CONFIG_KEY)) {
        VmConfiguration c = JSON.treeToValue(cfg.get(OvfImport.CONFIG_KEY), VmConfiguration.class);
        List<VmConfiguration.DiskDrive> attached = c.disks().stream()
            .filter(d -> d.diskId() != null || d.capacityBytes() > 0).toList();
        if (attached.size() == diskSizes.size()) {
          List<VmConfiguration.DiskDrive> disks = new ArrayList<>();
          for (int i = 0; i < attached.size(); i++) {
            VmConfiguration.DiskDrive d = attached.get(i);
            disks.add(new VmConfiguration.DiskDrive(d.diskId() == null ? "vmdisk" + (i + 1) : d.diskId(), d.controller(),
                d.unit(), diskSizes.get(i)));
          }
          VmConfiguration withDisks = c.withDisks(c.controllers(), disks);
          return new Described(withDisks,
              cfg.has("products") ? JSON.treeToValue(cfg.get("products"), new TypeReference<List<ProductInfo>>() {}) : List.of(),
              cfg.has("deploymentOptions")
                  ? JSON.treeToValue(cfg.get("deploymentOptions"), new TypeReference<List<DeploymentOption>>() {}) : List.of(),
              cfg.has("eulas") ? JSON.treeToValue(cfg.get("eulas"), new TypeReference<List<String>>() {}) : List.of(),
              cfg.has("operatingSystem") ? JSON.treeToValue(cfg.get("operatingSystem"), OperatingSystem.class) : null);
        }
        warnings.add("VM " + vm.name() + " has " + diskSizes.size() + " disks but its OVF configuration "
            + attached.size() + "; its hardware is described from scratch");
      }
    } catch (JsonProcessingException e) {
      warnings.add("VM " + vm.name() + ": its OVF configuration cannot be read (" + e.getOriginalMessage()
          + "); its hardware is described from scratch");
    }
    return new Described(plain(vm, cfg, diskSizes, warnings), List.of(), List.of(), List.of(), null);
  }

  private static VmConfiguration plain(VirtualMachine vm, JsonNode cfg, List<Long> diskSizes, List<String> warnings) {
    int cpus = cfg != null && cfg.path("cpus").canConvertToInt() && cfg.path("cpus").asInt() > 0 ? cfg.path("cpus").asInt() : 1;
    long memory = cfg != null && cfg.path("memoryBytes").canConvertToLong() ? cfg.path("memoryBytes").asLong() : 0;
    if (memory <= 0 && cfg != null && cfg.path("memoryMiB").canConvertToLong()) {
      memory = cfg.path("memoryMiB").asLong() << 20;
    }
    if (memory <= 0) {
      memory = 1L << 30;
      warnings.add("VM " + vm.name() + " names no memory (config memoryBytes or memoryMiB): the descriptor says 1 GiB");
    }
    String firmware = cfg != null && "efi".equalsIgnoreCase(cfg.path("firmware").asText()) ? "efi" : "bios";
    List<VmConfiguration.DiskDrive> disks = new ArrayList<>();
    for (int i = 0; i < diskSizes.size(); i++) {
      disks.add(new VmConfiguration.DiskDrive("vmdisk" + (i + 1), "10", i, diskSizes.get(i)));
    }
    return new VmConfiguration(vm.name(), vm.name(), cpus, 0, memory, firmware, null, List.of(),
        List.of(new VmConfiguration.Controller("10", "scsi", "lsilogic", 0)), List.copyOf(disks), List.of(), List.of(),
        List.of(), List.of(), List.of(), null, List.of(), Map.of(), Map.of(), null, new LinkedHashMap<>(), null);
  }
}
