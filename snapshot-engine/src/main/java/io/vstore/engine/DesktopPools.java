package io.vstore.engine;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.store.VolumeInfo;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Linked-clone desktop pools, as View Composer builds them: the base VM snapshot's disks are
 * cloned once into a replica, which is snapshotted; every desktop's system disks are linked clones
 * of that snapshot, so N desktops cost one base plus what each desktop writes. The replica's
 * volumes are never opened for writing by the engine; the desktops only ever see its snapshot.
 */
public final class DesktopPools {
  /** The replica's snapshot that desktops are cloned from. */
  public static final String REPLICA_SNAPSHOT = "replica";
  /** Most desktops in one pool. */
  public static final int MAX_DESKTOPS = 10_000;
  private final Inventory inv;

  /** Creates the pool workflows of {@code inv}. */
  DesktopPools(Inventory inv) {
    this.inv = inv;
  }

  /** Returns the volume name of disk {@code disk} of the pool's replica of generation {@code generation}. */
  static String replicaName(String pool, long generation, int disk) {
    return pool + "-replica" + generation + "-disk" + disk;
  }

  /** Returns whether {@code spec} is a well-formed {@code VM@SNAP} (SnapshotRef's rule), as a pool's base must be. */
  static boolean isVmSnapshot(String spec) {
    try {
      SnapshotRef.parseSnapshot(spec, "VM");
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Returns the name of desktop {@code n} of pool {@code pool}. */
  static String desktopName(String pool, int n) {
    return pool + "-" + n;
  }

  /**
   * Creates pool {@code name} of {@code count} desktops from snapshot {@code snap} of VM
   * {@code vm}; each desktop gets a persistent and a disposable disk of the given sizes (0: none).
   */
  public DesktopPool create(String name, String vm, String snap, int count, long persistentSize, long disposableSize)
      throws IOException {
    Inventory.checkObjectName("pool", name);
    if (count < 1 || count > MAX_DESKTOPS) {
      throw new IllegalArgumentException("pool " + name + " needs 1 to " + MAX_DESKTOPS + " desktops, not " + count);
    }
    if (persistentSize != 0) {
      Inventory.checkSize("persistent disk", persistentSize);
    }
    if (disposableSize != 0) {
      Inventory.checkSize("disposable disk", disposableSize);
    }
    synchronized (inv) {
      if (inv.document().pools().containsKey(name)) {
        throw new InventoryException("pool " + name + " already exists");
      }
      VirtualMachine base = baseVm(vm, snap);
      List<String> replica = replicaNames(name, 1, base.disks().size());
      List<Desktop> desktops = new ArrayList<>();
      for (int n = 1; n <= count; n++) {
        String d = desktopName(name, n);
        desktops.add(new Desktop(d, systemDisks(d, base.disks().size()), persistentSize == 0 ? null : d + "-persistent",
            disposableSize == 0 ? null : d + "-disposable", null));
      }
      DesktopPool pool = new DesktopPool(name, new SnapshotRef(vm, snap).toString(), 1, replica, persistentSize, disposableSize, desktops,
          Instant.now().toString(), Pending.of("create"), List.of());
      for (String v : pool.volumes()) {
        if (inv.datastore().hasVolume(v)) {
          throw new InventoryException("cannot create pool " + name + ": volume " + v + " already exists in "
              + inv.datastore());
        }
      }
      inv.save(inv.document().with(pool));
      try {
        buildReplica(replica, base.disks(), snap);
        cloneSystemDisks(replica, desktops);
        for (Desktop d : desktops) {
          createIfMissing(d.persistentDisk(), persistentSize);
          createIfMissing(d.disposableDisk(), disposableSize);
        }
        inv.checkpoint("pool-create:data-disks");
      } catch (IOException | RuntimeException e) {
        undoAfter(e, pool);
        throw e;
      }
      DesktopPool done = pool.withPending(null);
      inv.save(inv.document().with(done));
      return done;
    }
  }

  /** Returns every pool, sorted by name. */
  public List<DesktopPool> list() {
    return List.copyOf(inv.document().pools().values());
  }

  /** Returns pool {@code name}, or throws naming it. */
  public DesktopPool get(String name) throws InventoryException {
    DesktopPool p = inv.document().pools().get(name);
    if (p == null) {
      throw new InventoryException("no pool " + name + " in the inventory of " + inv.datastore());
    }
    return p;
  }

  /** Returns pool {@code name}'s space-savings report. */
  public PoolReport report(String name) throws IOException {
    DesktopPool p = get(name);
    Datastore ds = inv.datastore();
    long provisioned = 0;
    for (Desktop d : p.desktops()) {
      for (String v : d.volumes()) {
        provisioned += ds.hasVolume(v) ? ds.volumeInfo(v).size() : 0;
      }
    }
    long own = 0;
    for (String v : p.localVolumes()) {
      own += ds.hasVolume(v) ? ds.volumeInfo(v).allocated() : 0;
    }
    long base = 0;
    VirtualMachine vm = inv.document().vms().get(SnapshotRef.parseSnapshot(p.base(), "VM").volume());
    if (vm != null) {
      for (String v : vm.disks()) {
        base += ds.hasVolume(v) ? ds.volumeInfo(v).allocated() : 0;
      }
    }
    long allocated = own + base;
    return new PoolReport(p.name(), p.base(), p.desktops().size(), provisioned, own, base, allocated,
        allocated == 0 ? 0 : (double) provisioned / allocated);
  }

  /**
   * Moves every desktop of pool {@code name} to snapshot {@code snap} of VM {@code vm}: a new
   * replica, new system disks cloned from it; persistent and disposable disks are kept.
   */
  public void recompose(String name, String vm, String snap) throws IOException {
    synchronized (inv) {
      DesktopPool p = readyAtHome(name, "recompose");
      baseVm(vm, snap);
      DesktopPool marked = p.withPending(Pending.of("recompose", new SnapshotRef(vm, snap).toString()));
      inv.save(inv.document().with(marked));
      finish(marked);
    }
  }

  /**
   * Refreshes desktop {@code desktop} of pool {@code name} (null: every desktop): its system disks
   * go back to the replica's state and its disposable disk is emptied; its persistent disk stays.
   */
  public void refresh(String name, String desktop) throws IOException {
    synchronized (inv) {
      DesktopPool p = readyAtHome(name, "refresh");
      List<String> targets = new ArrayList<>();
      if (desktop == null) {
        p.desktops().forEach(d -> targets.add(d.name()));
      } else if (p.desktop(desktop) == null) {
        throw new InventoryException("pool " + name + " has no desktop " + desktop);
      } else {
        targets.add(desktop);
      }
      DesktopPool marked = p.withPending(new Pending("refresh", targets));
      inv.save(inv.document().with(marked));
      finish(marked);
    }
  }

  /**
   * Sets the datastores pool {@code name}'s desktops may live in ({@code pool rebalance} spreads them
   * over these); empty: only this one. Moves nothing.
   */
  public DesktopPool setDatastores(String name, List<String> dirs) throws IOException {
    synchronized (inv) {
      DesktopPool p = ready(name);
      Set<String> set = new LinkedHashSet<>();
      for (String dir : dirs) {
        if (dir == null || dir.isBlank()) {
          throw new IllegalArgumentException("pool " + name + ": a datastore directory is empty");
        }
        if (!set.add(directory(java.nio.file.Path.of(dir)))) {
          throw new IllegalArgumentException("pool " + name + ": datastore " + dir + " is given twice");
        }
      }
      // Naming only this datastore is the default: keep the record as it was.
      List<String> list = set.equals(Set.of(home())) ? List.of() : List.copyOf(set);
      DesktopPool next = p.withDatastores(list);
      inv.save(inv.document().with(next));
      return next;
    }
  }

  /** Returns the normalized absolute form of datastore directory {@code dir}, as pool records keep it. */
  public static String directory(java.nio.file.Path dir) {
    return dir.toAbsolutePath().normalize().toString();
  }

  /** Returns the directory of the datastore whose inventory holds the pools, as pool records keep it. */
  String home() {
    return directory(inv.datastore().path());
  }

  /** Deletes pool {@code name}: every desktop's disks, persistent ones included, and the replica. */
  public void delete(String name) throws IOException {
    synchronized (inv) {
      DesktopPool marked = readyAtHome(name, "delete").withPending(Pending.of("delete"));
      inv.save(inv.document().with(marked));
      finish(marked);
    }
  }

  /** Finishes or undoes {@code pool}'s pending operation and saves the outcome. */
  void finish(DesktopPool pool) throws IOException {
    Pending p = pool.pending();
    switch (p.operation()) {
      // Undo a creation (the pool was never reported as created); finish a deletion.
      case "create", "delete" -> {
        deleteVolumes(pool);
        inv.save(inv.document().withoutPool(pool.name()));
      }
      case "recompose" -> finishRecompose(pool, p);
      case "refresh" -> {
        Set<String> targets = new LinkedHashSet<>(p.args());
        List<Desktop> chosen = new ArrayList<>();
        for (Desktop d : pool.desktops()) {
          if (targets.contains(d.name())) {
            chosen.add(d);
          }
        }
        // Redoing a refresh a crash interrupted resets again what was already reset: same result.
        List<String> systemDisks = new ArrayList<>();
        for (Desktop d : chosen) {
          systemDisks.addAll(d.systemDisks());
        }
        inv.deleteIfPresent(systemDisks);
        inv.checkpoint("pool-refresh:deleted");
        cloneSystemDisks(pool.replica(), chosen);
        List<String> disposable = new ArrayList<>();
        for (Desktop d : chosen) {
          if (d.disposableDisk() != null) {
            disposable.add(d.disposableDisk());
          }
        }
        empty(disposable, pool.disposableSize());
        inv.checkpoint("pool-refresh:disposable");
        inv.save(inv.document().with(pool.withPending(null)));
      }
      // Needs the other datastores: the daemon's pool rebalance finishes it, not the inventory's open.
      case PoolTransfer.OPERATION -> { }
      default -> throw new InventoryException("bad inventory: pool " + pool.name()
          + " has unknown pending operation '" + p.operation() + "'");
    }
  }

  private void finishRecompose(DesktopPool pool, Pending p) throws IOException {
    Datastore ds = inv.datastore();
    if (p.args().size() != 1 || !isVmSnapshot(p.args().getFirst())) {
      throw new InventoryException("bad inventory: pool " + pool.name() + " pending recompose has arguments "
          + p.args() + ", expected one VM@SNAP");
    }
    SnapshotRef spec = SnapshotRef.parseSnapshot(p.args().getFirst(), "VM");
    String vm = spec.volume();
    String snap = spec.snapshot();
    VirtualMachine base = baseVm(vm, snap);
    long generation = pool.generation() + 1;
    List<String> replica = replicaNames(pool.name(), generation, base.disks().size());
    buildReplica(replica, base.disks(), snap);
    List<Desktop> moved = new ArrayList<>();
    for (Desktop d : pool.desktops()) {
      moved.add(new Desktop(d.name(), systemDisks(d.name(), base.disks().size()), d.persistentDisk(),
          d.disposableDisk(), null));
    }
    // A system disk already cloned from the new replica survives a redo; every other one goes.
    List<String> doomed = new ArrayList<>();
    for (int i = 0; i < pool.desktops().size(); i++) {
      Set<String> keep = new LinkedHashSet<>();
      List<String> newDisks = moved.get(i).systemDisks();
      for (int k = 0; k < newDisks.size(); k++) {
        String disk = newDisks.get(k);
        if (ds.hasVolume(disk) && (replica.get(k) + "@" + REPLICA_SNAPSHOT).equals(ds.volumeInfo(disk).parent())) {
          keep.add(disk);
        }
      }
      for (String disk : pool.desktops().get(i).systemDisks()) {
        if (!keep.contains(disk)) {
          doomed.add(disk);
        }
      }
      for (String disk : newDisks) {
        if (!keep.contains(disk)) {
          doomed.add(disk);
        }
      }
    }
    inv.deleteIfPresent(doomed);
    inv.checkpoint("pool-recompose:deleted");
    cloneSystemDisks(replica, moved);
    inv.deleteIfPresent(pool.replica().stream().filter(old -> !replica.contains(old)).toList());
    inv.checkpoint("pool-recompose:old-replica");
    inv.save(inv.document().with(new DesktopPool(pool.name(), spec.toString(), generation, replica, pool.persistentSize(),
        pool.disposableSize(), moved, pool.created(), null, pool.datastores())));
  }

  /** Clones the base disks' snapshot into the replica and snapshots it; skips what exists. */
  private void buildReplica(List<String> replica, List<String> baseDisks, String snap) throws IOException {
    Datastore ds = inv.datastore();
    for (int i = 0; i < replica.size(); i++) {
      if (!ds.hasVolume(replica.get(i))) {
        for (Volume v : ds.cloneSnapshot(baseDisks.get(i), snap, List.of(replica.get(i)))) {
          v.close();
        }
      }
    }
    inv.checkpoint("pool-replica:cloned");
    Map<String, String> group = new LinkedHashMap<>();
    for (String r : replica) {
      if (!inv.hasSnapshot(r, REPLICA_SNAPSHOT)) {
        group.put(r, REPLICA_SNAPSHOT);
      }
    }
    if (!group.isEmpty()) {
      ds.createSnapshots(group);
    }
    inv.checkpoint("pool-replica:snapshotted");
  }

  /** Clones the missing system disks of {@code desktops}: one datastore commit per base disk. */
  private void cloneSystemDisks(List<String> replica, List<Desktop> desktops) throws IOException {
    Datastore ds = inv.datastore();
    for (int k = 0; k < replica.size(); k++) {
      List<String> names = new ArrayList<>();
      for (Desktop d : desktops) {
        String disk = d.systemDisks().get(k);
        if (!ds.hasVolume(disk)) {
          names.add(disk);
        }
      }
      if (!names.isEmpty()) {
        for (Volume v : ds.cloneSnapshot(replica.get(k), REPLICA_SNAPSHOT, names)) {
          v.close();
        }
      }
      inv.checkpoint("pool-clones:disk" + k);
    }
  }

  private void createIfMissing(String volume, long size) throws IOException {
    if (volume != null && !inv.datastore().hasVolume(volume)) {
      inv.datastore().createVolume(volume, size).close();
    }
  }

  /**
   * Empties disposable disks (creating those a crash lost), {@link Inventory#DELETE_BATCH} to a
   * flush: a flush each would be a thousand fsyncs for a pool.
   */
  private void empty(List<String> volumes, long size) throws IOException {
    Datastore ds = inv.datastore();
    for (int from = 0; from < volumes.size(); from += Inventory.DELETE_BATCH) {
      List<Volume> open = new ArrayList<>();
      IOException failure = null;
      try {
        for (String volume : volumes.subList(from, Math.min(volumes.size(), from + Inventory.DELETE_BATCH))) {
          if (!ds.hasVolume(volume)) {
            createIfMissing(volume, size);
            continue;
          }
          Volume v = ds.volume(volume);
          open.add(v);
          v.discard(0, v.size());
        }
        ds.flush();
      } catch (IOException e) {
        failure = e;
      }
      for (Volume v : open) {
        try {
          v.close(); // after the flush, nothing left to flush: cheap
        } catch (IOException e) {
          if (failure == null) {
            failure = e;
          } else {
            failure.addSuppressed(e);
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    }
  }

  /** Deletes every volume of {@code pool} that exists: clones before the replica they depend on. */
  private void deleteVolumes(DesktopPool pool) throws IOException {
    List<String> desktopVolumes = new ArrayList<>();
    for (Desktop d : pool.desktops()) {
      desktopVolumes.addAll(d.volumes());
    }
    inv.deleteIfPresent(desktopVolumes);
    inv.checkpoint("pool-delete:desktops");
    inv.deleteIfPresent(pool.replica());
  }

  private void undoAfter(Exception failure, DesktopPool marked) {
    try {
      finish(marked);
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  private DesktopPool ready(String name) throws InventoryException {
    DesktopPool p = get(name);
    if (p.pending() != null) {
      throw new InventoryException("pool " + name + " has an unfinished " + p.pending().operation()
          + (PoolTransfer.OPERATION.equals(p.pending().operation())
              ? " (vstore pool rebalance " + name + " in the daemon that owns its datastores finishes it)"
              : " (it is finished when the datastore is next opened)"));
    }
    return p;
  }

  /** Returns pool {@code name} ready for a change of its desktops, which all live in this datastore. */
  private DesktopPool readyAtHome(String name, String what) throws InventoryException {
    DesktopPool p = ready(name);
    if (!p.atHome()) {
      Set<String> away = new java.util.TreeSet<>();
      p.desktops().stream().filter(d -> d.datastore() != null).forEach(d -> away.add(d.datastore()));
      throw new InventoryException("cannot " + what + " pool " + name + ": some of its desktops live in "
          + String.join(", ", away) + "; bring them back first (vstore pool set " + name + " --datastores "
          + home() + ", then vstore pool rebalance " + name + ")");
    }
    return p;
  }

  private VirtualMachine baseVm(String vm, String snap) throws InventoryException {
    VirtualMachine base = inv.document().vms().get(vm);
    if (base == null) {
      throw new InventoryException("no VM " + vm + " in the inventory of " + inv.datastore());
    }
    if (base.snapshot(snap) == null) {
      throw new InventoryException("VM " + vm + " has no snapshot " + snap);
    }
    if (VmTransfer.of(base).isPresent()) {
      // Its disks are leaving this datastore: clones of them would stop the move at its end.
      throw new InventoryException("VM " + vm + " is moving to another datastore (vstore migrate): build the pool"
          + " when the move has ended");
    }
    return base;
  }

  private static List<String> replicaNames(String pool, long generation, int disks) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < disks; i++) {
      out.add(replicaName(pool, generation, i));
    }
    return out;
  }

  private static List<String> systemDisks(String desktop, int disks) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < disks; i++) {
      out.add(desktop + "-disk" + i);
    }
    return out;
  }
}
