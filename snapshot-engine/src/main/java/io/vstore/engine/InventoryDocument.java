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
