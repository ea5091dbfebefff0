package io.vstore.engine;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The engine's inventory of VMs and desktop pools in one open datastore, kept in
 * {@code <datastore>/engine/inventory.json}. Opening it finishes or undoes the operations a crash
 * interrupted (see the package documentation). Use it from the process that owns the datastore;
 * its operations are serialized on this object.
 */
public final class Inventory {
  /**
   * VM and pool names: SnapshotRef's characters but at most 64 of them, not 128, because volume
   * names are derived from them ({@code VM-disk12}, {@code POOL-replica3-disk0}, {@code POOL-17-persistent})
   * and those must still pass SnapshotRef's 128-character rule.
   */
  /**
   * Most volumes deleted in one datastore commit: a commit holds in memory every record state its
   * volumes release (a desktop that wrote 10,000 random blocks releases 10,000), so a pool's
   * thousand desktops go in a few dozen commits rather than in one holding ten million.
   */
  static final int DELETE_BATCH = 32;
  static final Pattern OBJECT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  private final Datastore store;
  private final InventoryFile file;
  private final VirtualMachines vms;
  private final DesktopPools pools;
  private final VmMedia media;
  @GuardedBy("this")
  private final List<String> problems = new ArrayList<>();
  @GuardedBy("this")
  private InventoryDocument doc;
  /** Called after each datastore step and each inventory write; crash tests throw from it. */
  volatile Consumer<String> checkpoints;

  private Inventory(Datastore store, InventoryDocument doc) {
    this.store = store;
    this.file = new InventoryFile(store.path());
    this.doc = doc;
    this.vms = new VirtualMachines(this);
    this.pools = new DesktopPools(this);
    this.media = new VmMedia(this);
  }

  /** Opens the inventory of {@code store}, finishing or undoing what a crash interrupted. */
  public static Inventory open(Datastore store) throws IOException {
    Inventory inv = new Inventory(store, new InventoryFile(store.path()).read());
    inv.reconcile();
    return inv;
  }

  /** Returns the VM workflows. */
  public VirtualMachines vms() {
    return vms;
  }

  /** Returns the VMs' media files (ISO and floppy images, NVRAM). */
  public VmMedia media() {
    return media;
  }

  /** Returns the desktop pool workflows. */
  public DesktopPools pools() {
    return pools;
  }

  /** Returns the datastore this inventory lives in. */
  public Datastore datastore() {
    return store;
  }

  /**
   * Returns what the last open could not reconcile: unfinished operations that failed again and
   * records whose volumes are missing from the datastore.
   */
  public synchronized List<String> problems() {
    return List.copyOf(problems);
  }

  /** Returns every volume the inventory's VMs and pools own. */
  public synchronized Set<String> volumes() {
    Set<String> out = new LinkedHashSet<>();
    for (VirtualMachine vm : doc.vms().values()) {
      out.addAll(vm.disks());
      vm.media().forEach(m -> out.add(m.volume()));
    }
    for (DesktopPool p : doc.pools().values()) {
      out.addAll(p.localVolumes());
    }
    return out;
  }

  /**
   * Returns what owns volume {@code volume} (with {@code snapshot} null) or its snapshot
   * {@code snapshot}, as words for an error message ("VM web1", "desktop pool eng"), or null when
   * nothing in the inventory does. Deleting what the inventory owns behind its back would leave
   * records pointing at nothing.
   */
  public synchronized String owner(String volume, String snapshot) {
    for (VirtualMachine vm : doc.vms().values()) {
      if (vm.disks().contains(volume)
          && (snapshot == null || vm.snapshots().stream().anyMatch(s -> s.name().equals(snapshot)))) {
        return "VM " + vm.name();
      }
      if (snapshot == null && vm.media().stream().anyMatch(m -> m.volume().equals(volume))) {
        return "VM " + vm.name() + " (a media file)";
      }
    }
    for (DesktopPool p : doc.pools().values()) {
      boolean owned = snapshot == null ? p.localVolumes().contains(volume)
          : p.replica().contains(volume) && snapshot.equals(DesktopPools.REPLICA_SNAPSHOT);
      if (owned) {
        return "desktop pool " + p.name();
      }
    }
    return null;
  }

  private synchronized void reconcile() throws IOException {
    // Pools first: finishing a pool's deletion may release the VM snapshot a VM operation needs.
    for (DesktopPool p : List.copyOf(doc.pools().values())) {
      if (p.pending() != null) {
        try {
          pools.finish(p);
        } catch (IOException | RuntimeException e) {
          problems.add("pool " + p.name() + ": cannot finish interrupted " + p.pending().operation() + ": "
              + e.getMessage());
        }
      }
    }
    for (VirtualMachine vm : List.copyOf(doc.vms().values())) {
      if (vm.pending() != null) {
        try {
          vms.finish(vm);
        } catch (IOException | RuntimeException e) {
          problems.add("VM " + vm.name() + ": cannot finish interrupted " + vm.pending().operation() + ": "
              + e.getMessage());
        }
      }
    }
    Set<String> moving = new java.util.HashSet<>();
    for (VirtualMachine vm : doc.vms().values()) {
      if (vm.pending() != null && VmTransfer.OPERATION.equals(vm.pending().operation())) {
        moving.addAll(vm.disks()); // each is in this datastore or in the other one of the move
      }
    }
    for (DesktopPool p : doc.pools().values()) {
      if (p.pending() != null && PoolTransfer.OPERATION.equals(p.pending().operation())) {
        p.desktops().forEach(d -> moving.addAll(d.volumes())); // a desktop being moved may be half in its target
      }
    }
    for (String v : volumes()) {
      if (!moving.contains(v) && !store.hasVolume(v)) {
        problems.add("volume " + v + " of the inventory is missing from " + store);
      }
    }
  }

  // ---- for the workflow classes ----

  /** Returns the current document. */
  synchronized InventoryDocument document() {
    return doc;
  }

  /** Writes {@code next} durably and makes it current. */
  synchronized void save(InventoryDocument next) throws IOException {
    file.write(next);
    doc = next;
    checkpoint("inventory saved");
  }

  /** Marks the end of one datastore step (a crash test may stop here). */
  void checkpoint(String step) {
    Consumer<String> c = checkpoints;
    if (c != null) {
      c.accept(step);
    }
  }

  /** Returns whether volume {@code volume} has snapshot {@code snap}. */
  boolean hasSnapshot(String volume, String snap) throws IOException {
    if (!store.hasVolume(volume)) {
      return false;
    }
    for (SnapshotInfo s : store.snapshots(volume)) {
      if (s.name().equals(snap)) {
        return true;
      }
    }
    return false;
  }

  /** Deletes volume {@code volume} if it exists. */
  void deleteIfPresent(String volume) throws IOException {
    deleteIfPresent(List.of(volume));
  }

  /**
   * Deletes those of {@code volumes} that exist, {@link #DELETE_BATCH} to a datastore commit, each
   * commit all or nothing; the caller's pending operation redoes what a crash between them left.
   */
  void deleteIfPresent(List<String> volumes) throws IOException {
    List<String> present = volumes.stream().filter(store::hasVolume).distinct().toList();
    for (int from = 0; from < present.size(); from += DELETE_BATCH) {
      store.deleteVolumes(present.subList(from, Math.min(present.size(), from + DELETE_BATCH)), true);
    }
  }

  /** Throws unless {@code name} is a valid VM or pool name. */
  static void checkObjectName(String kind, String name) {
    if (name == null || !OBJECT_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("bad " + kind + " name '" + name
          + "': use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
  }

  /** Returns whether {@code name} is a valid volume or snapshot name (SnapshotRef's rule). */
  static boolean isStoreName(String name) {
    try {
      SnapshotRef.checkName("snapshot", name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Throws unless {@code size} is a valid volume size. */
  static void checkSize(String what, long size) {
    if (size <= 0 || size % 512 != 0 || size > Datastore.MAX_VOLUME_SIZE) {
      throw new IllegalArgumentException(what + " size " + size
          + " must be a positive multiple of 512 bytes, at most 64 TiB");
    }
  }

  @Override
  public String toString() {
    return "inventory " + file.path();
  }
}
