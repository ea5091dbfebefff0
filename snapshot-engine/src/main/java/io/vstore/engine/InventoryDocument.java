package io.vstore.engine;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The inventory file's content: format name and version, then the VMs and pools by name.
 *
 * @param format always {@value #FORMAT}
 * @param version the document version, between {@value #MIN_VERSION} and {@value #VERSION}
 * @param vms VMs by name
 * @param pools desktop pools by name
 */
record InventoryDocument(String format, int version, Map<String, VirtualMachine> vms,
    Map<String, DesktopPool> pools) {
  static final String FORMAT = "vstore-engine-inventory";
  static final int MIN_VERSION = 1;
  static final int VERSION = 1;

  InventoryDocument {
    vms = Collections.unmodifiableMap(new TreeMap<>(vms == null ? Map.of() : vms));
    pools = Collections.unmodifiableMap(new TreeMap<>(pools == null ? Map.of() : pools));
  }

  /**
   * Throws unless every record is whole and refers only to what exists: names valid and equal to
   * their keys, snapshot parents and the current snapshot present, no null entries.
   */
  void validate(Object file) throws InventoryException {
    for (Map.Entry<String, VirtualMachine> e : vms.entrySet()) {
      VirtualMachine vm = e.getValue();
      String where = "bad inventory: " + file + ": VM " + e.getKey();
      if (vm == null || !e.getKey().equals(vm.name()) || !Inventory.OBJECT_NAME.matcher(vm.name()).matches()) {
        throw new InventoryException(where + " is missing or misnamed");
      }
      if (vm.disks().isEmpty()) {
        throw new InventoryException(where + " has no disks");
      }
      for (String d : vm.disks()) {
        if (!Inventory.isStoreName(d)) {
          throw new InventoryException(where + " has a bad disk name '" + d + "'");
        }
      }
      java.util.Set<String> names = new java.util.HashSet<>();
      for (VmSnapshot s : vm.snapshots()) {
        if (s == null || s.name() == null || !Inventory.isStoreName(s.name())
            || !names.add(s.name())) {
          throw new InventoryException(where + " has a missing, misnamed or repeated snapshot");
        }
      }
      for (VmSnapshot s : vm.snapshots()) {
        if (s.parent() != null && !names.contains(s.parent())) {
          throw new InventoryException(where + ": snapshot " + s.name() + " has unknown parent " + s.parent());
        }
      }
      java.util.Set<String> media = new java.util.HashSet<>();
      for (MediaFile m : vm.media()) {
        if (m == null || !VmMedia.NAME.matcher(m.name()).matches() || !media.add(m.name()) || m.volume() == null
            || !Inventory.isStoreName(m.volume()) || vm.disks().contains(m.volume()) || m.size() < -1
            || (m.sha256() != null && !m.sha256().matches("[0-9a-f]{64}"))) {
          throw new InventoryException(where + " has a missing, misnamed, repeated or malformed media file");
        }
      }
      if (vm.current() != null && !names.contains(vm.current())) {
        throw new InventoryException(where + " has unknown current snapshot " + vm.current());
      }
      checkPending(where, vm.pending());
    }
    for (Map.Entry<String, DesktopPool> e : pools.entrySet()) {
      DesktopPool p = e.getValue();
      String where = "bad inventory: " + file + ": pool " + e.getKey();
      if (p == null || !e.getKey().equals(p.name()) || !Inventory.OBJECT_NAME.matcher(p.name()).matches()) {
        throw new InventoryException(where + " is missing or misnamed");
      }
      if (!DesktopPools.isVmSnapshot(p.base()) || p.generation() < 1 || p.replica().isEmpty()
          || p.persistentSize() < 0 || p.disposableSize() < 0) {
        throw new InventoryException(where + " has a bad base, generation, replica or disk size");
      }
      for (Desktop d : p.desktops()) {
        if (d == null || d.name() == null || d.systemDisks().size() != p.replica().size()) {
          throw new InventoryException(where + " has a desktop that is missing, unnamed or has "
              + (d == null ? 0 : d.systemDisks().size()) + " system disks for a replica of " + p.replica().size());
        }
      }
      checkPending(where, p.pending());
    }
  }

  private static void checkPending(String where, Pending p) throws InventoryException {
    if (p != null && p.operation() == null) {
      throw new InventoryException(where + " has a pending operation without a name");
    }
  }

  /** Returns an empty inventory. */
  static InventoryDocument empty() {
    return new InventoryDocument(FORMAT, VERSION, Map.of(), Map.of());
  }

  /** Returns this document with {@code vm} added or replaced. */
  InventoryDocument with(VirtualMachine vm) {
    Map<String, VirtualMachine> m = new TreeMap<>(vms);
    m.put(vm.name(), vm);
    return new InventoryDocument(format, version, m, pools);
  }

  /** Returns this document with {@code pool} added or replaced. */
  InventoryDocument with(DesktopPool pool) {
    Map<String, DesktopPool> m = new TreeMap<>(pools);
    m.put(pool.name(), pool);
    return new InventoryDocument(format, version, vms, m);
  }

  /** Returns this document without VM {@code name}. */
  InventoryDocument withoutVm(String name) {
    Map<String, VirtualMachine> m = new TreeMap<>(vms);
    m.remove(name);
    return new InventoryDocument(format, version, m, pools);
  }

  /** Returns this document without pool {@code name}. */
  InventoryDocument withoutPool(String name) {
    Map<String, DesktopPool> m = new TreeMap<>(pools);
    m.remove(name);
    return new InventoryDocument(format, version, vms, m);
  }
}
