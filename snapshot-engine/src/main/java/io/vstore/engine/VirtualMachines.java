package io.vstore.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The VM inventory and its snapshot trees. A VM's snapshot captures all of its disks at one
 * instant (one datastore consistency group) and hangs under the VM's current snapshot.
 */
public final class VirtualMachines {
  /** Most disks a VM may have. */
  public static final int MAX_DISKS = 64;
  private final Inventory inv;

  /** Creates the VM workflows of {@code inv}. */
  VirtualMachines(Inventory inv) {
    this.inv = inv;
  }

  /** Returns the volume name of disk {@code index} of VM {@code vm}. */
  static String diskName(String vm, int index) {
    return vm + "-disk" + index;
  }

  /** Creates VM {@code name} with one new thin volume per size and the opaque {@code config}. */
  public VirtualMachine create(String name, List<Long> diskSizes, JsonNode config) throws IOException {
    return create(name, diskSizes, Map.of(), config);
  }

  /**
   * Creates VM {@code name} as {@link #create(String, List, JsonNode)} does, except that disk
   * {@code i} with an entry in {@code clones} is a linked clone of that {@code volume@snapshot}
   * (sharing its blocks; the snapshot must be at least the size given for the disk, whose size it
   * then has). The clones are made under the same pending {@code create} as new volumes, so a crash
   * midway deletes them with the rest.
   */
  public VirtualMachine create(String name, List<Long> diskSizes, Map<Integer, SnapshotRef> clones, JsonNode config)
      throws IOException {
    Inventory.checkObjectName("VM", name);
    if (diskSizes.isEmpty() || diskSizes.size() > MAX_DISKS) {
      throw new IllegalArgumentException("VM " + name + " needs 1 to " + MAX_DISKS + " disks, not "
          + diskSizes.size());
    }
    for (long size : diskSizes) {
      Inventory.checkSize("disk", size);
    }
    if (config != null && !config.isObject()) {
      throw new IllegalArgumentException("VM " + name + ": the configuration must be a JSON object, not "
          + config.getNodeType().toString().toLowerCase(java.util.Locale.ROOT));
    }
    for (int i : clones.keySet()) {
      if (i < 0 || i >= diskSizes.size()) {
        throw new IllegalArgumentException("VM " + name + " has no disk " + i + " to make a clone");
      }
    }
    synchronized (inv) {
      if (inv.document().vms().containsKey(name)) {
        throw new InventoryException("VM " + name + " already exists");
      }
      List<String> disks = new ArrayList<>();
      for (int i = 0; i < diskSizes.size(); i++) {
        String d = diskName(name, i);
        if (inv.datastore().hasVolume(d)) {
          throw new InventoryException("cannot create VM " + name + ": volume " + d + " already exists in "
              + inv.datastore());
        }
        disks.add(d);
      }
      VirtualMachine vm = new VirtualMachine(name, disks, config, Instant.now().toString(), null, List.of(),
          Pending.of("create"), List.of());
      inv.save(inv.document().with(vm));
      try {
        for (int i = 0; i < disks.size(); i++) {
          SnapshotRef from = clones.get(i);
          if (from == null) {
            try (Volume v = inv.datastore().createVolume(disks.get(i), diskSizes.get(i))) {
              inv.checkpoint("vm-create:" + v.name());
            }
            continue;
          }
          for (Volume v : inv.datastore().cloneSnapshot(from.volume(), from.snapshot(), List.of(disks.get(i)))) {
            try (v) {
              if (v.size() < diskSizes.get(i)) {
                throw new IllegalArgumentException("VM " + name + ": disk " + i + " cannot be a clone of " + from + " ("
                    + v.size() + " bytes): it needs " + diskSizes.get(i));
              }
              inv.checkpoint("vm-create:" + v.name());
            }
          }
        }
      } catch (IOException | RuntimeException e) {
        undoAfter(e, vm);
        throw e;
      }
      VirtualMachine done = vm.withPending(null);
      inv.save(inv.document().with(done));
      return done;
    }
  }

  /** Returns every VM, sorted by name. */
  public List<VirtualMachine> list() {
    return List.copyOf(inv.document().vms().values());
  }

  /** Returns VM {@code name}, or throws naming it. */
  public VirtualMachine get(String name) throws InventoryException {
    VirtualMachine vm = inv.document().vms().get(name);
    if (vm == null) {
      throw new InventoryException("no VM " + name + " in the inventory of " + inv.datastore());
    }
    return vm;
  }

  /** Deletes VM {@code name}, its disks and their snapshots; refused while a pool is built from it. */
  public void delete(String name) throws IOException {
    synchronized (inv) {
      VirtualMachine vm = ready(name);
      for (DesktopPool p : inv.document().pools().values()) {
        for (SnapshotRef base : bases(p)) {
          if (base.volume().equals(name)) {
            throw new InventoryException("cannot delete VM " + name + ": pool " + p.name() + " is built from "
                + base + " (delete or recompose the pool first)");
          }
        }
      }
      for (io.vstore.blockstore.store.VolumeInfo other : inv.datastore().volumes()) {
        String parent = other.parent();
        if (parent != null && !vm.disks().contains(other.name())
            && vm.disks().contains(SnapshotRef.parse(parent).volume())) {
          throw new InventoryException("cannot delete VM " + name + ": volume " + other.name()
              + " is a linked clone of its snapshot " + parent + " (delete or flatten the clone first)");
        }
      }
      for (String d : vm.disks()) {
        if (inv.datastore().hasVolume(d)) {
          // Before the record says "delete": a disk an export serves or a replica pair holds would
          // stop the deletion halfway and leave the VM marked until the next open.
          inv.datastore().checkDeletable(d, null);
        }
      }
      VirtualMachine marked = vm.withPending(Pending.of("delete"));
      inv.save(inv.document().with(marked));
      finish(marked);
    }
  }

  /** Returns VM {@code vm}'s snapshots, oldest first. */
  public List<VmSnapshot> snapshots(String vm) throws InventoryException {
    return get(vm).snapshots();
  }

  /**
   * Snapshots every disk of VM {@code vm} at one instant as {@code snap}, hung under the VM's
   * current snapshot, which it then becomes.
   */
  public VmSnapshot snapshot(String vm, String snap, String description) throws IOException {
    SnapshotRef.checkName("snapshot", snap);
    synchronized (inv) {
      VirtualMachine m = ready(vm);
      if (m.snapshot(snap) != null) {
        throw new InventoryException("VM " + vm + " already has a snapshot " + snap);
      }
      for (String d : m.disks()) {
        if (inv.hasSnapshot(d, snap)) {
          throw new InventoryException("cannot snapshot VM " + vm + ": snapshot " + d + "@" + snap
              + " already exists in " + inv.datastore());
        }
      }
      VmSnapshot s = new VmSnapshot(snap, description == null ? "" : description, Instant.now().toString(),
          m.current());
      List<VmSnapshot> tree = new ArrayList<>(m.snapshots());
      tree.add(s);
      VirtualMachine marked = m.withSnapshots(tree).withPending(Pending.of("snapshot-create", snap));
      inv.save(inv.document().with(marked));
      Map<String, String> group = new LinkedHashMap<>();
      for (String d : m.disks()) {
        group.put(d, snap);
      }
      try {
        inv.datastore().createSnapshots(group);
        inv.checkpoint("vm-snapshot:" + snap);
      } catch (IOException | RuntimeException e) {
        undoAfter(e, marked);
        throw e;
      }
      inv.save(inv.document().with(marked.withCurrent(snap).withPending(null)));
      return s;
    }
  }

  /** Reverts every disk of VM {@code vm} to snapshot {@code snap}, which becomes current. */
  public void revert(String vm, String snap) throws IOException {
    synchronized (inv) {
      VirtualMachine m = ready(vm);
      requireSnapshot(m, snap);
      VirtualMachine marked = m.withPending(Pending.of("revert", snap));
      inv.save(inv.document().with(marked));
      finish(marked);
    }
  }

  /**
   * Deletes snapshot {@code snap} of VM {@code vm}: its children move under its parent and its
   * disk snapshots are deleted; refused while a pool is built from it.
   */
  public void deleteSnapshot(String vm, String snap) throws IOException {
    synchronized (inv) {
      VirtualMachine m = ready(vm);
      requireSnapshot(m, snap);
      for (DesktopPool p : inv.document().pools().values()) {
        if (bases(p).contains(new SnapshotRef(vm, snap))) {
          throw new InventoryException("cannot delete snapshot " + vm + "@" + snap + ": pool " + p.name()
              + " is built from it (delete or recompose the pool first)");
        }
      }
      VirtualMachine marked = m.withPending(Pending.of("snapshot-delete", snap));
      inv.save(inv.document().with(marked));
      finish(marked);
    }
  }

  /** Finishes or undoes {@code vm}'s pending operation and saves the outcome. */
  void finish(VirtualMachine vm) throws IOException {
    Datastore ds = inv.datastore();
    Pending p = vm.pending();
    switch (p.operation()) {
      case "create" -> {
        // Undo: the VM was never reported as created.
        for (String d : vm.disks()) {
          inv.deleteIfPresent(d);
        }
        for (MediaFile m : vm.media()) {
          inv.deleteIfPresent(m.volume());
        }
        inv.save(inv.document().withoutVm(vm.name()));
      }
      case "delete" -> {
        for (String d : vm.disks()) {
          inv.deleteIfPresent(d);
          inv.checkpoint("vm-delete:" + d);
        }
        for (MediaFile m : vm.media()) {
          inv.deleteIfPresent(m.volume());
          inv.checkpoint("vm-delete:" + m.volume());
        }
        inv.save(inv.document().withoutVm(vm.name()));
      }
      case VmMedia.ADD, VmMedia.REMOVE -> inv.media().finish(vm);
      case "snapshot-create" -> {
        String snap = arg(vm, p);
        int present = 0;
        for (String d : vm.disks()) {
          present += inv.hasSnapshot(d, snap) ? 1 : 0;
        }
        if (present == vm.disks().size()) {
          inv.save(inv.document().with(vm.withCurrent(snap).withPending(null)));
        } else {
          // The group is one datastore commit, so this is "none"; undo a partial one all the same.
          for (String d : vm.disks()) {
            if (inv.hasSnapshot(d, snap)) {
              ds.deleteSnapshot(d, snap);
            }
          }
          List<VmSnapshot> tree = new ArrayList<>(vm.snapshots());
          tree.removeIf(s -> s.name().equals(snap));
          inv.save(inv.document().with(vm.withSnapshots(tree).withPending(null)));
        }
      }
      case "revert" -> {
        String snap = arg(vm, p);
        // Reverting a disk twice to the same snapshot gives the same content, so redoing all is safe.
        for (String d : vm.disks()) {
          ds.revert(d, snap);
          inv.checkpoint("vm-revert:" + d);
        }
        inv.save(inv.document().with(vm.withCurrent(snap).withPending(null)));
      }
      case "snapshot-delete" -> {
        String snap = arg(vm, p);
        for (String d : vm.disks()) {
          if (inv.hasSnapshot(d, snap)) {
            ds.deleteSnapshot(d, snap);
            inv.checkpoint("vm-snapshot-delete:" + d);
          }
        }
        VmSnapshot gone = vm.snapshot(snap);
        String parent = gone == null ? null : gone.parent();
        List<VmSnapshot> tree = new ArrayList<>();
        for (VmSnapshot s : vm.snapshots()) {
          if (s.name().equals(snap)) {
            continue;
          }
          tree.add(Objects.equals(s.parent(), snap) ? s.withParent(parent) : s);
        }
        String current = snap.equals(vm.current()) ? parent : vm.current();
        inv.save(inv.document().with(vm.withSnapshots(tree).withCurrent(current).withPending(null)));
      }
      case VmTransfer.OPERATION -> {
        // Disks moving between two datastores: the daemon takes the move up again (VmTransfer), or a
        // cancelled one waits for another migrate; opening one of the two inventories cannot finish it.
        VmTransfer.of(vm);
      }
      default -> throw new InventoryException("bad inventory: VM " + vm.name() + " has unknown pending operation '"
          + p.operation() + "'");
    }
  }

  /** After a failed step, finishes or undoes the operation at once rather than at the next open. */
  void undoAfter(Exception failure, VirtualMachine marked) {
    try {
      finish(marked);
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  /** Returns VM {@code name}, or throws when it has an unfinished operation. */
  VirtualMachine ready(String name) throws InventoryException {
    VirtualMachine vm = get(name);
    java.util.Optional<VmTransfer.Plan> moving = VmTransfer.of(vm);
    if (moving.isPresent()) {
      VmTransfer.Plan p = moving.get();
      throw new InventoryException("VM " + name + " is " + (p.running() ? "moving" : "split by a cancelled migrate")
          + " between " + p.from() + " and " + p.to() + " (vstore migrate " + name + " --to one of them ends it)");
    }
    if (vm.pending() != null) {
      throw new InventoryException("VM " + name + " has an unfinished " + vm.pending().operation()
          + " (it is finished when the datastore is next opened)");
    }
    return vm;
  }

  /** Returns the bases pool {@code p} depends on: its own and one an unfinished recompose moves it to. */
  private static List<SnapshotRef> bases(DesktopPool p) {
    List<String> specs = new ArrayList<>(List.of(p.base()));
    if (p.pending() != null && "recompose".equals(p.pending().operation())) {
      specs.addAll(p.pending().args());
    }
    List<SnapshotRef> out = new ArrayList<>();
    for (String s : specs) {
      if (DesktopPools.isVmSnapshot(s)) { // a malformed pending recompose names no VM: reconcile reports it
        out.add(SnapshotRef.parseSnapshot(s, "VM"));
      }
    }
    return out;
  }

  private static void requireSnapshot(VirtualMachine vm, String snap) throws InventoryException {
    if (vm.snapshot(snap) == null) {
      throw new InventoryException("VM " + vm.name() + " has no snapshot " + snap);
    }
  }

  private static String arg(VirtualMachine vm, Pending p) throws InventoryException {
    if (p.args().size() != 1) {
      throw new InventoryException("bad inventory: VM " + vm.name() + " pending " + p.operation() + " has "
          + p.args().size() + " arguments, expected 1");
    }
    return p.args().getFirst();
  }
}
