package io.vstore.cli;

import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.engine.Desktop;
import io.vstore.engine.DesktopPool;
import io.vstore.engine.VirtualMachine;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One volume as {@code volume list} and {@code volume info} show it: the datastore's figures and
 * where the volume comes from (see docs/CLI.md for the JSON).
 *
 * @param name the volume's name
 * @param uuid its identity
 * @param size virtual size in bytes
 * @param allocated bytes stored for it (after compression), snapshots included
 * @param mapped bytes of data the head holds (before compression)
 * @param unique bytes only the head references
 * @param shared bytes the head shares with snapshots or a parent
 * @param changeId change id of the current state
 * @param generation the last committed generation
 * @param parent the snapshot it is a linked clone of ({@code VOLUME@SNAP}), or null
 * @param snapshotCount number of snapshots
 * @param created creation time, ISO-8601
 * @param vm the VM whose disk it is, or null
 * @param pool the desktop pool it belongs to, or null
 * @param replica whether it is a pool's replica (the desktops' common base)
 */
record VolumeEntry(String name, String uuid, long size, long allocated, long mapped, long unique, long shared,
    String changeId, long generation, String parent, int snapshotCount, String created, String vm, String pool,
    boolean replica) {

  /** Returns {@code v}'s entry, owned by {@code vm} or {@code pool} (either may be null). */
  static VolumeEntry of(VolumeInfo v, String vm, String pool, boolean replica) {
    return new VolumeEntry(v.name(), v.uuid(), v.size(), v.allocated(), v.mapped(), v.unique(), v.shared(),
        v.changeId(), v.generation(), v.parent(), v.snapshots(), v.created(), vm, pool, replica);
  }

  /** Returns the origin as one short phrase for the table: "-" when the volume stands alone. */
  String origin() {
    List<String> parts = new ArrayList<>();
    if (vm != null) {
      parts.add("vm " + vm);
    }
    if (pool != null) {
      parts.add((replica ? "replica of pool " : "pool ") + pool);
    }
    if (parent != null) {
      parts.add("clone of " + parent);
    }
    return parts.isEmpty() ? "-" : String.join(", ", parts);
  }

  /** Returns the datastore's volumes in natural order, only those of {@code vm} and {@code pool} when given. */
  static List<VolumeEntry> list(EngineSession s, String vm, String pool) throws IOException {
    if (vm != null) {
      s.inventory.vms().get(vm); // an unknown VM is an error, not an empty list
    }
    if (pool != null) {
      s.inventory.pools().get(pool);
    }
    Owners owners = Owners.of(s);
    List<VolumeEntry> out = new ArrayList<>();
    for (VolumeInfo v : s.store.volumes()) {
      VolumeEntry e = owners.entry(v);
      if ((vm == null || vm.equals(e.vm())) && (pool == null || pool.equals(e.pool()))) {
        out.add(e);
      }
    }
    out.sort((a, b) -> NaturalOrder.INSTANCE.compare(a.name(), b.name()));
    return out;
  }

  /** Returns volume {@code name}'s entry. */
  static VolumeEntry get(EngineSession s, String name) throws IOException {
    return Owners.of(s).entry(s.store.volumeInfo(name));
  }

  /** Which VM and which pool each volume belongs to, from the inventory. */
  private record Owners(Map<String, String> vmOf, Map<String, String> poolOf, Set<String> replicas) {
    /** Reads the owners from the session's inventory. */
    static Owners of(EngineSession s) {
      Owners o = new Owners(new HashMap<>(), new HashMap<>(), new HashSet<>());
      for (VirtualMachine m : s.inventory.vms().list()) {
        m.disks().forEach(d -> o.vmOf.put(d, m.name()));
      }
      for (DesktopPool p : s.inventory.pools().list()) {
        for (Desktop d : p.desktops()) {
          d.volumes().forEach(v -> o.poolOf.put(v, p.name()));
        }
        p.replica().forEach(r -> {
          o.poolOf.put(r, p.name());
          o.replicas.add(r);
        });
      }
      return o;
    }

    /** Returns {@code v}'s entry with its owners. */
    VolumeEntry entry(VolumeInfo v) {
      return VolumeEntry.of(v, vmOf.get(v.name()), poolOf.get(v.name()), replicas.contains(v.name()));
    }
  }
}
