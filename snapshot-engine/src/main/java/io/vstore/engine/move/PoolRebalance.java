package io.vstore.engine.move;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreInfo;
import io.vstore.blockstore.store.Volume;
import io.vstore.engine.Desktop;
import io.vstore.engine.DesktopPool;
import io.vstore.engine.DesktopPools;
import io.vstore.engine.Inventory;
import io.vstore.engine.PoolPlacement;
import io.vstore.engine.PoolTransfer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * {@code vstore pool rebalance}: moves a desktop pool's desktops between the datastores of one
 * process as {@link PoolPlacement} plans, keeping the linked-clone sharing.
 *
 * <p>Each desktop moves whole, one after another. Into a target without the pool's replica the
 * replica's snapshot is first copied flat, once, and snapshotted as the source's is. Then the
 * desktop's persistent and disposable disks move with the mover (their history and change ids go
 * with them; clients may keep using them), its system disks are cloned from the target's replica
 * and given their own layer (what the desktop wrote over the base, {@link LayerCopy}), so the
 * target holds the base once plus each desktop's writes. The inventory's switch of the desktop to
 * the target ({@link PoolTransfer}) comes last; the source's system disks are deleted after it.
 *
 * <p>The moves are written ahead into the pool's record. Until a desktop's switch the source holds
 * it: a crash or stop leaves the rest recorded, and the next rebalance of the pool deletes what a
 * half-done desktop left in its target and takes the moves up. A cancel lets the current desktop
 * finish and stops there; the desktops not moved stay as they were. A target left without desktops
 * loses its replica copy. System disks must not be in use while their desktop moves (the caller
 * checks: they are copied, not mirrored) and must have no snapshots.
 */
public final class PoolRebalance {
  /** Moves one volume that is no linked clone between two datastores, with its history (the mover). */
  @FunctionalInterface
  public interface VolumeMover {
    /** Moves {@code volume} from {@code from} to {@code to} and returns the bytes it copied. */
    long move(Datastore from, String volume, Datastore to) throws IOException;
  }

  /** Hears how the rebalance goes; called on its thread. */
  public interface Listener {
    /** Called when desktop {@code step}'s move starts ({@code index} of {@code count}, from 0). */
    default void desktopStarted(PoolTransfer.Step step, int index, int count) throws IOException {}

    /** Called when desktop {@code step} has moved, having copied {@code bytes}. */
    default void desktopMoved(PoolTransfer.Step step, long bytes) {}
  }

  /**
   * What a rebalance did.
   *
   * @param moved the desktops moved, in order
   * @param replicasCopied the datastores the replica was copied to
   * @param bytesCopied bytes of data copied (replicas, system disks' own layers, moved disks)
   * @param stopped whether a cancel stopped it before every planned desktop moved
   */
  public record Result(String pool, List<PoolTransfer.Step> moved, List<String> replicasCopied, long bytesCopied,
      boolean stopped) {}

  private final Inventory home;
  private final Function<String, Datastore> datastores;
  private final String pool;
  private final List<PoolTransfer.Step> steps;

  private PoolRebalance(Inventory home, Function<String, Datastore> datastores, String pool,
      List<PoolTransfer.Step> steps) {
    this.home = home;
    this.datastores = datastores;
    this.pool = pool;
    this.steps = List.copyOf(steps);
  }

  /**
   * Plans the rebalance of pool {@code pool} of {@code home}'s inventory over the datastores it may
   * use, by their figures now; {@code datastores} finds an open datastore by directory (null: not
   * one of this process's).
   *
   * With an unfinished rebalance recorded, returns its moves instead (and no figures): those are
   * what {@link #start} takes up.
   *
   * @throws IllegalArgumentException if a datastore the pool uses or may use is not open here, or a
   *     desktop cannot move (snapshots on its system disks, names taken in a target)
   */
  public static PoolPlacement.Plan plan(Inventory home, Function<String, Datastore> datastores, String pool)
      throws IOException {
    DesktopPool p = home.pools().get(pool);
    List<PoolTransfer.Step> recorded = PoolTransfer.pending(home, pool);
    if (!recorded.isEmpty()) {
      List<PoolPlacement.Move> moves = new ArrayList<>();
      recorded.forEach(s -> moves.add(new PoolPlacement.Move(s.desktop(), s.from(), s.to(), 0)));
      return new PoolPlacement.Plan(moves, List.of());
    }
    if (p.pending() != null) {
      throw new IllegalStateException("pool " + pool + " has an unfinished " + p.pending().operation());
    }
    String homeDir = DesktopPools.directory(home.datastore().path());
    Set<String> allowed = new LinkedHashSet<>(p.datastores().isEmpty() ? List.of(homeDir) : p.datastores());
    Set<String> dirs = new LinkedHashSet<>(allowed);
    List<PoolPlacement.Member> members = new ArrayList<>();
    for (Desktop d : p.desktops()) {
      String dir = PoolTransfer.location(home, d);
      dirs.add(dir);
      Datastore ds = open(datastores, dir, pool);
      long bytes = 0;
      for (String v : d.volumes()) {
        if (ds.hasVolume(v)) {
          bytes += ds.volumeInfo(v).allocated();
        }
      }
      members.add(new PoolPlacement.Member(d.name(), dir, bytes));
    }
    List<PoolPlacement.Store> stores = new ArrayList<>();
    for (String dir : dirs) {
      Datastore ds = open(datastores, dir, pool);
      DatastoreInfo info = ds.info();
      stores.add(new PoolPlacement.Store(dir, Math.max(1, info.capacity()), info.used(), info.warningPercent(),
          info.criticalPercent(), hasReplica(ds, p)));
    }
    PoolPlacement.Plan plan = PoolPlacement.plan(stores, members, replicaBytes(home.datastore(), p), allowed);
    for (PoolPlacement.Move m : plan.moves()) {
      checkMovable(p, p.desktop(m.desktop()), open(datastores, m.from(), pool), open(datastores, m.to(), pool));
    }
    return plan;
  }

  /**
   * Records {@code plan}'s moves in the pool's record and returns the rebalance that runs them; with
   * an unfinished rebalance recorded, returns that one instead (the plan is not used).
   */
  public static PoolRebalance start(Inventory home, Function<String, Datastore> datastores, String pool,
      PoolPlacement.Plan plan) throws IOException {
    List<PoolTransfer.Step> recorded = PoolTransfer.pending(home, pool);
    if (!recorded.isEmpty()) {
      return new PoolRebalance(home, datastores, pool, recorded);
    }
    List<PoolTransfer.Step> steps = new ArrayList<>();
    for (PoolPlacement.Move m : plan.moves()) {
      steps.add(new PoolTransfer.Step(m.desktop(), m.from(), m.to()));
    }
    PoolTransfer.begin(home, pool, steps);
    return new PoolRebalance(home, datastores, pool, steps);
  }

  /** Returns the pool being rebalanced. */
  public String pool() {
    return pool;
  }

  /** Returns the desktops' moves this rebalance runs (those done already are skipped). */
  public List<PoolTransfer.Step> steps() {
    return steps;
  }

  /**
   * Runs the moves: desktop after desktop, until all have moved or {@code cancelled} says to stop
   * (asked before each desktop).
   */
  public Result run(VolumeMover mover, Listener listener, BooleanSupplier cancelled) throws IOException {
    List<PoolTransfer.Step> moved = new ArrayList<>();
    List<String> replicas = new ArrayList<>();
    long bytes = 0;
    boolean stopped = false;
    for (int i = 0; i < steps.size(); i++) {
      PoolTransfer.Step s = steps.get(i);
      if (cancelled.getAsBoolean()) {
        stopped = true;
        break;
      }
      listener.desktopStarted(s, i, steps.size());
      long copied = moveDesktop(s, mover, replicas);
      bytes += copied;
      moved.add(s);
      listener.desktopMoved(s, copied);
    }
    dropUnusedReplicas();
    PoolTransfer.end(home, pool);
    return new Result(pool, moved, replicas, bytes, stopped);
  }

  private long moveDesktop(PoolTransfer.Step s, VolumeMover mover, List<String> replicas) throws IOException {
    DesktopPool p = home.pools().get(pool);
    Desktop d = p.desktop(s.desktop());
    Datastore from = open(datastores, s.from(), pool);
    Datastore to = open(datastores, s.to(), pool);
    if (d == null) {
      return 0; // deleted meanwhile: nothing left to move
    }
    String at = PoolTransfer.location(home, d);
    if (at.equals(s.to())) {
      deleteIfPresent(from, d.systemDisks(), false); // switched before a crash: finish the cleanup
      return 0;
    }
    if (!at.equals(s.from())) {
      throw new IllegalStateException("desktop " + d.name() + " of pool " + pool + " lives in " + at + ", but its"
          + " recorded move is from " + s.from() + " to " + s.to());
    }
    LayerCopy copy = new LayerCopy();
    if (copyReplica(p, home.datastore(), to, copy)) {
      replicas.add(s.to());
    }
    long moved = 0;
    for (String v : new String[] {d.persistentDisk(), d.disposableDisk()}) {
      if (v != null && from.hasVolume(v)) {
        moved += mover.move(from, v, to);
      }
    }
    deleteIfPresent(to, d.systemDisks(), false); // a half-copied earlier attempt
    for (int k = 0; k < d.systemDisks().size(); k++) {
      String disk = d.systemDisks().get(k);
      for (Volume v : to.cloneSnapshot(p.replica().get(k), DesktopPools.REPLICA_SNAPSHOT, List.of(disk))) {
        try (Volume target = v; Volume source = from.volume(disk, true)) {
          copy.copyOwnLayer(source, target);
        }
      }
    }
    to.flush();
    PoolTransfer.switched(home, pool, d.name(), s.to());
    deleteIfPresent(from, d.systemDisks(), false);
    return copy.copied() + moved;
  }

  /**
   * Copies the pool's replica into {@code to} unless it holds it: each replica disk's snapshot flat
   * into a new volume of the same name, snapshotted alike. Returns whether it copied.
   */
  private static boolean copyReplica(DesktopPool p, Datastore home, Datastore to, LayerCopy copy) throws IOException {
    if (hasReplica(to, p)) {
      return false;
    }
    deleteIfPresent(to, p.replica(), true); // a copy a crash cut short
    for (String r : p.replica()) {
      try (Volume source = home.volume(r + "@" + DesktopPools.REPLICA_SNAPSHOT, true);
          Volume target = to.createVolume(r, source.size())) {
        copy.copyData(source, target);
      }
    }
    Map<String, String> group = new LinkedHashMap<>();
    p.replica().forEach(r -> group.put(r, DesktopPools.REPLICA_SNAPSHOT));
    to.createSnapshots(group); // the last step: a replica copy without its snapshot is unfinished
    return true;
  }

  /** Deletes the replica copies of datastores other than the pool's own that no desktop uses any more. */
  private void dropUnusedReplicas() throws IOException {
    DesktopPool p = home.pools().get(pool);
    String homeDir = DesktopPools.directory(home.datastore().path());
    Set<String> used = new LinkedHashSet<>();
    p.desktops().forEach(d -> used.add(PoolTransfer.location(home, d)));
    Set<String> touched = new LinkedHashSet<>();
    steps.forEach(s -> {
      touched.add(s.from());
      touched.add(s.to());
    });
    for (String dir : touched) {
      if (!dir.equals(homeDir) && !used.contains(dir)) {
        Datastore ds = datastores.apply(dir);
        if (ds != null) {
          deleteIfPresent(ds, p.replica(), true);
        }
      }
    }
  }

  /** Throws unless desktop {@code d} can move from {@code from} to {@code to}. */
  private static void checkMovable(DesktopPool p, Desktop d, Datastore from, Datastore to) throws IOException {
    for (String disk : d.systemDisks()) {
      if (from.hasVolume(disk) && !from.snapshots(disk).isEmpty()) {
        throw new IllegalArgumentException("cannot move desktop " + d.name() + " of pool " + p.name() + ": its system"
            + " disk " + disk + " has snapshots, which a rebalance does not move (delete them first)");
      }
    }
    for (String v : d.volumes()) {
      if (to.hasVolume(v)) {
        throw new IllegalArgumentException("cannot move desktop " + d.name() + " of pool " + p.name() + " to "
            + to.path() + ": it already has a volume " + v);
      }
    }
    for (String r : p.replica()) {
      if (to.hasVolume(r) && !hasReplica(to, p)) {
        throw new IllegalArgumentException("cannot copy the replica of pool " + p.name() + " to " + to.path()
            + ": it already has a volume " + r + " that is not one");
      }
    }
  }

  /** Returns whether {@code ds} holds every replica disk of {@code p} with its snapshot. */
  static boolean hasReplica(Datastore ds, DesktopPool p) throws IOException {
    for (String r : p.replica()) {
      if (!ds.hasVolume(r) || ds.snapshots(r).stream().noneMatch(s -> s.name().equals(DesktopPools.REPLICA_SNAPSHOT))) {
        return false;
      }
    }
    return true;
  }

  /** Returns the bytes of data the replica's snapshots read: what a flat copy of it takes. */
  private static long replicaBytes(Datastore home, DesktopPool p) throws IOException {
    long bytes = 0;
    for (String r : p.replica()) {
      try (Volume v = home.volume(r + "@" + DesktopPools.REPLICA_SNAPSHOT, true)) {
        for (Extent e : v.allocation(0, v.size())) {
          bytes += e.kind() == Extent.Kind.DATA ? e.length() : 0;
        }
      }
    }
    return bytes;
  }

  private static void deleteIfPresent(Datastore ds, List<String> volumes, boolean recursive) throws IOException {
    List<String> present = volumes.stream().filter(ds::hasVolume).toList();
    if (!present.isEmpty()) {
      ds.deleteVolumes(present, recursive);
    }
  }

  private static Datastore open(Function<String, Datastore> datastores, String dir, String pool) {
    Datastore ds = datastores.apply(dir);
    if (ds == null) {
      throw new IllegalArgumentException("pool " + pool + " uses datastore " + dir + ", which this daemon does not "
          + "own (vstore serve -D ... -D " + dir + ")");
    }
    return ds;
  }
}
