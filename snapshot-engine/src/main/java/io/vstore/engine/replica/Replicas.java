package io.vstore.engine.replica;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.Datastore;
import io.vstore.engine.move.MoveRecord;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The replica pairs of the datastores one process owns: creates, resumes (at open), pauses,
 * removes and promotes them. Records live in each datastore ({@link ReplicaStore}); a pair whose
 * both sides are here has a record on each side.
 */
public final class Replicas implements Closeable {
  private static final System.Logger LOG = System.getLogger(Replicas.class.getName());
  /** Opens an {@code nbd://} or {@code nbds://} target as a device (the server supplies the NBD client). */
  @FunctionalInterface
  public interface RemoteOpener {
    /** Connects to {@code uri}. */
    BlockDevice open(String uri) throws IOException;
  }

  /** A secondary side held here: its datastore, store and record (shared with its guard). */
  private record Side(Datastore datastore, ReplicaStore store, AtomicReference<ReplicaRecord> record, boolean fresh) {}

  private final Map<Path, Datastore> datastores;
  private final RemoteOpener remote;
  private final ReplicaListener listener;
  private final long retryMillis;
  private final Map<String, Replica> primaries = new ConcurrentHashMap<>();
  private final Map<String, Side> secondaries = new ConcurrentHashMap<>();

  private Replicas(Map<Path, Datastore> datastores, RemoteOpener remote, ReplicaListener listener, Duration retry) {
    this.datastores = new LinkedHashMap<>();
    datastores.forEach((p, d) -> this.datastores.put(p.toAbsolutePath().normalize(), d));
    this.remote = remote;
    this.listener = listener;
    this.retryMillis = Math.max(1, retry.toMillis());
  }

  /**
   * Opens the registry over {@code datastores} (by directory) and resumes every pair recorded in
   * them: secondaries get their guard, primaries reconnect and resync what the change log says.
   */
  public static Replicas open(Map<Path, Datastore> datastores, RemoteOpener remote, ReplicaListener listener,
      Duration retry) throws IOException {
    Replicas r = new Replicas(datastores, remote, listener, retry);
    boolean ok = false;
    try {
      for (Datastore ds : r.datastores.values()) {
        ReplicaStore store = new ReplicaStore(ds.path());
        for (ReplicaRecord rec : store.readAll()) {
          if (rec.role() == ReplicaRecord.Role.SECONDARY) {
            try {
              r.guard(ds, store, rec, false);
            } catch (IOException | RuntimeException e) {
              LOG.log(System.Logger.Level.WARNING, "replica " + rec.id() + " secondary in " + ds.path() + " not guarded: "
                  + e.getMessage());
            }
          }
        }
      }
      for (Datastore ds : r.datastores.values()) {
        ReplicaStore store = new ReplicaStore(ds.path());
        for (ReplicaRecord rec : store.readAll()) {
          if (rec.role() == ReplicaRecord.Role.PRIMARY) {
            if (r.leftByAMove(ds, store, rec)) {
              continue;
            }
            try {
              r.startPrimary(ds, store, rec);
            } catch (IOException | RuntimeException e) {
              // One pair that cannot start (its volume deleted meanwhile) must not keep the others down.
              LOG.log(System.Logger.Level.WARNING, "replica " + rec.id() + " of " + ds.path() + " not resumed: " + e.getMessage());
              r.primaries.remove(rec.id());
            }
          }
        }
      }
      ok = true;
      return r;
    } finally {
      if (!ok) {
        r.close();
      }
    }
  }

  /**
   * Returns whether {@code rec} is the stale copy a crash left behind in the middle of
   * {@link #volumeMoved} (the record is written to the destination before it is deleted here): its
   * volume's move has switched over to a datastore held here whose replicas hold the same pair. The
   * stale copy is deleted.
   */
  private boolean leftByAMove(Datastore ds, ReplicaStore store, ReplicaRecord rec) throws IOException {
    for (MoveRecord m : MoveRecord.pending(ds.path())) {
      if (m.volume().equals(rec.volume()) && m.isSwitched()) {
        Datastore dest = datastores.get(Path.of(m.destination()).toAbsolutePath().normalize());
        if (dest != null && new ReplicaStore(dest.path()).readAll().stream().anyMatch(o -> o.id().equals(rec.id()))) {
          store.delete(rec.id());
          return true;
        }
      }
    }
    return false;
  }

  private void guard(Datastore ds, ReplicaStore store, ReplicaRecord rec, boolean fresh) throws IOException {
    AtomicReference<ReplicaRecord> ref = new AtomicReference<>(rec);
    ds.setInterceptor(rec.volume(), new SecondaryGuard(ref));
    secondaries.put(rec.id(), new Side(ds, store, ref, fresh));
  }

  private Replica startPrimary(Datastore ds, ReplicaStore store, ReplicaRecord rec) throws IOException {
    Replica replica = new Replica(ds, store, rec, this::openSecondary, listener, retryMillis);
    primaries.put(rec.id(), replica);
    replica.start();
    return replica;
  }

  private Secondary openSecondary(ReplicaRecord primary) throws IOException {
    if (primary.nbdPeer()) {
      return new DeviceSecondary(remote.open(primary.peer()));
    }
    Side side = secondaries.get(primary.id());
    if (side == null) {
      throw new IOException("the secondary of replica " + primary.id() + " (" + primary.peer() + ":" + primary.peerVolume()
          + ") is not open here: its datastore must be served by this process");
    }
    return new DatastoreSecondary(side.datastore(), side.store(), side.record(), side.fresh());
  }

  private Datastore datastore(Path dir) {
    Datastore ds = datastores.get(dir.toAbsolutePath().normalize());
    if (ds == null) {
      throw new IllegalArgumentException("datastore " + dir + " is not owned here");
    }
    return ds;
  }

  /**
   * Replicates {@code volume} of datastore {@code dir} to {@code target}: another datastore's
   * directory (the volume of the same name there is created, or, when it is the fenced old primary
   * of a promoted pair, re-protected with only what changed since the two diverged) or an NBD URI.
   */
  public synchronized ReplicaStatus create(Path dir, String volume, String target, String id) throws IOException {
    Datastore ds = datastore(dir);
    long size = ds.volumeInfo(volume).size();
    String created = Instant.now().toString();
    boolean nbd = target.startsWith("nbd://") || target.startsWith("nbds://");
    for (Replica p : primaries.values()) {
      if (p.datastore() == ds && p.record().volume().equals(volume)) {
        throw new IllegalStateException("volume " + volume + " is already replicated (replica " + p.record().id() + ")");
      }
    }
    if (MoveRecord.pending(ds.path()).stream().anyMatch(m -> m.volume().equals(volume))) {
      // Its interceptor is the mover's mirror until the switch; the pair follows a moved primary afterwards.
      throw new IllegalStateException("volume " + volume + " is being moved to another datastore (vstore migrate): "
          + "create the replica when the move has ended");
    }
    ReplicaStore store = new ReplicaStore(ds.path());
    if (nbd) {
      String pairId = id != null ? ReplicaStore.checkId(id) : newId();
      checkFree(pairId);
      ReplicaRecord rec = primaryRecord(pairId, volume, target, target.substring(target.lastIndexOf('/') + 1), 1, 0,
          created, ds, size);
      store.write(rec);
      return announce(startPrimary(ds, store, rec));
    }
    Datastore to = datastore(Path.of(target));
    if (to == ds) {
      throw new IllegalArgumentException("the target must be another datastore than " + ds.path());
    }
    ReplicaStore toStore = new ReplicaStore(to.path());
    Optional<Side> promoted = secondaries.values().stream().filter(s -> s.datastore() == ds
        && s.record().get().volume().equals(volume) && s.record().get().state().equals("PROMOTED")).findFirst();
    if (to.hasVolume(volume)) {
      return reprotect(ds, store, volume, to, toStore, promoted.orElseThrow(() -> new IllegalStateException(
          "volume " + volume + " already exists in " + to.path() + " and is not the old primary of a promoted pair: "
              + "delete it first")), size);
    }
    String pairId = id != null ? ReplicaStore.checkId(id) : newId();
    checkFree(pairId);
    to.createVolume(volume, size).close();
    ReplicaRecord secondary = new ReplicaRecord(ReplicaRecord.FORMAT, ReplicaRecord.VERSION, pairId,
        ReplicaRecord.Role.SECONDARY, volume, ds.path().toString(), volume, 1, "SECONDARY", size, null, null, created);
    toStore.write(secondary);
    guard(to, toStore, secondary, true);
    ReplicaRecord rec = primaryRecord(pairId, volume, to.path().toString(), volume, 1, 0, created, ds, size);
    store.write(rec);
    return announce(startPrimary(ds, store, rec));
  }

  /**
   * Replicates every volume of {@code volumes} (a VM's disks) of datastore {@code dir} to the
   * datastore {@code target}, all or none: pair {@code idPrefix-N} (or generated ids) for the N-th;
   * if one cannot be made, the pairs made before it are removed and the secondary volumes they
   * created deleted.
   */
  public synchronized List<ReplicaStatus> createAll(Path dir, List<String> volumes, String target, String idPrefix)
      throws IOException {
    if (target.startsWith("nbd://") || target.startsWith("nbds://")) {
      throw new IllegalArgumentException("an NBD export holds one disk: replicate a VM's disks to a datastore, or each"
          + " disk to its own export (vstore replica create VOLUME)");
    }
    Datastore to = datastore(Path.of(target));
    List<ReplicaStatus> made = new ArrayList<>();
    List<String> createdThere = new ArrayList<>();
    try {
      for (int i = 0; i < volumes.size(); i++) {
        String v = volumes.get(i);
        boolean fresh = !to.hasVolume(v);
        made.add(create(dir, v, target, idPrefix == null ? null : idPrefix + "-" + i));
        if (fresh) {
          createdThere.add(v);
        }
      }
      return made;
    } catch (IOException | RuntimeException e) {
      for (ReplicaStatus st : made) {
        try {
          remove(st.id());
        } catch (IOException | RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      for (String v : createdThere) {
        try {
          to.deleteVolume(v, true);
        } catch (IOException | RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /**
   * A pin taken before the full copy starts: if this process dies mid-copy, the part already
   * copied is brought up to date from the change log since it, the rest copied on.
   */
  private static ReplicaRecord primaryRecord(String id, String volume, String peer, String peerVolume, long epoch,
      long fullCopyFrom, String created, Datastore ds, long size) throws IOException {
    String base = ds.volumeInfo(volume).changeId();
    Pins.pin(ds, id, base);
    return new ReplicaRecord(ReplicaRecord.FORMAT, ReplicaRecord.VERSION, id, ReplicaRecord.Role.PRIMARY, volume, peer,
        peerVolume, epoch, "ACTIVE", fullCopyFrom, base, null, created);
  }

  /**
   * Turns a promoted pair around: the promoted volume becomes the primary and the old primary its
   * secondary; the sync sends what either side changed since their last agreed point.
   */
  private ReplicaStatus reprotect(Datastore ds, ReplicaStore store, String volume, Datastore to, ReplicaStore toStore,
      Side side, long size) throws IOException {
    ReplicaRecord b = side.record().get();
    if (!Path.of(b.peer()).toAbsolutePath().normalize().equals(to.path().toAbsolutePath().normalize())
        || !b.peerVolume().equals(volume)) {
      throw new IllegalStateException("volume " + volume + " in " + to.path() + " is not the old primary of replica " + b.id()
          + " (its primary was " + b.peer() + ":" + b.peerVolume() + ")");
    }
    Replica old = primaries.remove(b.id());
    if (old != null) {
      old.close(true);
    }
    ds.clearInterceptor(volume);
    secondaries.remove(b.id());
    boolean exact = b.ownPin() != null && b.peerPin() != null;
    String created = Instant.now().toString();
    // Without an agreed point (the pair never completed a checkpoint) only a full copy is honest.
    ReplicaRecord sec = new ReplicaRecord(ReplicaRecord.FORMAT, ReplicaRecord.VERSION, b.id(), ReplicaRecord.Role.SECONDARY,
        volume, ds.path().toString(), volume, b.epoch(), "SECONDARY", size, exact ? b.peerPin() : null,
        exact ? b.ownPin() : null, created);
    toStore.write(sec);
    guard(to, toStore, sec, false);
    ReplicaRecord prim = new ReplicaRecord(ReplicaRecord.FORMAT, ReplicaRecord.VERSION, b.id(), ReplicaRecord.Role.PRIMARY,
        volume, to.path().toString(), volume, b.epoch(), "ACTIVE", exact ? size : 0, exact ? b.ownPin() : null,
        exact ? b.peerPin() : null, created);
    if (!exact) {
      prim = primaryRecord(b.id(), volume, to.path().toString(), volume, b.epoch(), 0, created, ds, size);
    }
    store.write(prim);
    return announce(startPrimary(ds, store, prim));
  }

  private ReplicaStatus announce(Replica replica) throws IOException {
    ReplicaStatus status = replica.status();
    listener.replicaChanged("created", status);
    return status;
  }

  private void checkFree(String id) {
    if (primaries.containsKey(id) || secondaries.containsKey(id)) {
      throw new IllegalArgumentException("replica " + id + " already exists");
    }
  }

  private static String newId() {
    return "r-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
  }

  /** Returns every side held here, primaries first. */
  public List<ReplicaStatus> list() throws IOException {
    List<ReplicaStatus> out = new ArrayList<>();
    for (Replica p : primaries.values()) {
      out.add(p.status());
    }
    for (Side s : secondaries.values()) {
      out.add(secondaryStatus(s));
    }
    out.sort((a, b) -> a.id().equals(b.id()) ? a.role().compareTo(b.role()) : a.id().compareTo(b.id()));
    return out;
  }

  /** Returns the sides of pair {@code id} held here; refused when there is none. */
  public List<ReplicaStatus> info(String id) throws IOException {
    List<ReplicaStatus> out = list().stream().filter(s -> s.id().equals(id)).toList();
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no replica " + id);
    }
    return out;
  }

  private static ReplicaStatus secondaryStatus(Side s) {
    ReplicaRecord r = s.record().get();
    return new ReplicaStatus(r.id(), "SECONDARY", s.datastore().path().toString(), r.volume(), r.peer(), r.peerVolume(),
        r.state(), r.epoch(), 0, 0, 0, 0, null, r.created());
  }

  private Replica primary(String id) {
    Replica p = primaries.get(id);
    if (p == null) {
      throw new IllegalArgumentException(secondaries.containsKey(id)
          ? "replica " + id + " has only its secondary here: pause and resume work on the primary"
          : "no replica " + id);
    }
    return p;
  }

  /** Stops mirroring pair {@code id}; its changes are tracked by the change log until resumed. */
  public ReplicaStatus pause(String id) throws IOException {
    Replica p = primary(id);
    p.pause();
    return p.status();
  }

  /** Resumes pair {@code id}: reconnect and send what the secondary lacks. */
  public ReplicaStatus resume(String id) throws IOException {
    Replica p = primary(id);
    p.resume();
    return p.status();
  }

  /**
   * Promotes the secondary of pair {@code id} held here: raises the epoch (so the old primary's
   * next write is refused) and makes the volume writable. Its pins stay: they name where the two
   * sides agreed last, which a later {@code create} in the other direction starts from.
   */
  public synchronized ReplicaStatus promote(String id) throws IOException {
    Side s = secondaries.get(id);
    if (s == null) {
      throw new IllegalArgumentException(primaries.containsKey(id)
          ? "replica " + id + " is the primary here: promote runs where the secondary is"
          : "no replica " + id);
    }
    ReplicaRecord r = s.record().get();
    if (r.state().equals("PROMOTED")) {
      return secondaryStatus(s);
    }
    ReplicaRecord next = r.withEpoch(r.epoch() + 1).withState("PROMOTED");
    s.store().write(next);
    s.record().set(next);
    ReplicaStatus status = secondaryStatus(s);
    listener.replicaChanged("promoted", status);
    return status;
  }

  /** Removes pair {@code id}: its records, pins and interceptors on every side held here. */
  public synchronized List<ReplicaStatus> remove(String id) throws IOException {
    List<ReplicaStatus> removed = new ArrayList<>();
    Replica p = primaries.remove(id);
    if (p != null) {
      ReplicaStatus st = p.status();
      p.close(true);
      ReplicaRecord r = p.record();
      Pins.unpinOthers(p.datastore(), id, r.volume(), null);
      new ReplicaStore(p.datastore().path()).delete(id);
      removed.add(st);
    }
    Side s = secondaries.remove(id);
    if (s != null) {
      ReplicaRecord r = s.record().get();
      ReplicaStatus st = secondaryStatus(s);
      s.datastore().clearInterceptor(r.volume());
      Pins.unpinOthers(s.datastore(), id, r.volume(), null);
      s.store().delete(id);
      removed.add(st);
    }
    if (removed.isEmpty()) {
      throw new IllegalArgumentException("no replica " + id);
    }
    for (ReplicaStatus st : removed) {
      listener.replicaChanged("removed", st);
    }
    return removed;
  }

  /**
   * Refuses to delete {@code volume} of datastore {@code dir} while it is a side of a pair held
   * here (a datastore's deletion guard calls it): the message names the pair and how to end it.
   *
   * @throws IllegalStateException naming the replica
   */
  public void checkDeletable(Path dir, String volume) {
    Path d = dir.toAbsolutePath().normalize();
    for (Replica p : primaries.values()) {
      if (p.record().volume().equals(volume) && p.datastore().path().toAbsolutePath().normalize().equals(d)) {
        ReplicaRecord r = p.record();
        throw new IllegalStateException("volume " + volume + " is replicated by replica " + r.id() + " to " + r.peer()
            + (r.nbdPeer() ? "" : ":" + r.peerVolume()) + ": remove the replica first (vstore replica remove " + r.id() + ")");
      }
    }
    for (Side s : secondaries.values()) {
      ReplicaRecord r = s.record().get();
      if (r.volume().equals(volume) && s.datastore().path().toAbsolutePath().normalize().equals(d)) {
        throw new IllegalStateException("volume " + volume + " is the secondary of replica " + r.id() + " (primary "
            + r.peer() + ":" + r.peerVolume() + "): remove the replica first (vstore replica remove " + r.id() + ")");
      }
    }
  }

  /**
   * Refuses to move {@code volume} of datastore {@code dir} to another datastore when it is a
   * pair's secondary (its guard admits only the replication stream; promote or remove first). A
   * primary may move: {@link #volumeMoved} carries its pair along.
   *
   * @throws IllegalStateException naming the replica
   */
  public void checkMovable(Path dir, String volume) {
    Path d = dir.toAbsolutePath().normalize();
    for (Side s : secondaries.values()) {
      ReplicaRecord r = s.record().get();
      if (r.volume().equals(volume) && s.datastore().path().toAbsolutePath().normalize().equals(d)
          && r.state().equals("SECONDARY")) {
        throw new IllegalStateException("volume " + volume + " is the secondary of replica " + r.id() + " (primary "
            + r.peer() + ":" + r.peerVolume() + "): promote it or remove the replica before moving it");
      }
    }
  }

  /**
   * Carries the pair whose primary is {@code volume} of datastore {@code from} over to datastore
   * {@code to}, once the mover has switched the volume there (its uuid, change log and pins moved
   * with it): the primary's record moves to {@code to} (written there first, then deleted from
   * {@code from}), a datastore secondary's record is repointed at {@code to}, and the primary starts
   * on the moved volume as after a restart: it reconnects and resyncs what changed since its pin,
   * which includes the writes clients made between the switch and this call.
   *
   * @return the pair's status, or empty when the volume is not a primary here
   */
  public synchronized Optional<ReplicaStatus> volumeMoved(Path from, String volume, Path to) throws IOException {
    Datastore src = datastore(from);
    Datastore dst = datastore(to);
    Replica old = primaries.values().stream()
        .filter(p -> p.datastore() == src && p.record().volume().equals(volume)).findFirst().orElse(null);
    if (old == null) {
      return Optional.empty();
    }
    old.close(src.hasVolume(volume));
    primaries.remove(old.record().id());
    ReplicaRecord rec = old.record();
    ReplicaStore toStore = new ReplicaStore(dst.path());
    toStore.write(rec);
    new ReplicaStore(src.path()).delete(rec.id());
    Side side = secondaries.get(rec.id());
    if (side != null) {
      ReplicaRecord next = side.record().get().withPeer(dst.path().toString());
      side.store().write(next);
      side.record().set(next);
    }
    Replica moved = startPrimary(dst, toStore, rec);
    ReplicaStatus status = moved.status();
    listener.replicaChanged("moved", status);
    return Optional.of(status);
  }

  /** Returns the primary record of pair {@code id} as the running replica holds it (tests). */
  ReplicaRecord primaryRecord(String id) {
    return primary(id).record();
  }

  /** Returns the bytes pair {@code id}'s syncs sent since this process started (tests count them). */
  long bytesSent(String id) {
    return primary(id).bytesSent();
  }

  /** Stops every pair's worker; records stay, so the pairs resume at the next open. */
  @Override
  public synchronized void close() throws IOException {
    IOException first = null;
    for (Replica p : primaries.values()) {
      try {
        p.close(true);
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    primaries.clear();
    for (Side s : secondaries.values()) {
      try {
        s.datastore().clearInterceptor(s.record().get().volume());
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    secondaries.clear();
    if (first != null) {
      throw first;
    }
  }
}
