package io.vstore.engine.move;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.VolumeInterceptor;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreException;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.TransplantOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.blockstore.store.VolumeTransplant;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * One move of a volume from a source datastore to a destination datastore of the same process
 * while clients use it: the copy pass, checkpoints, switch-over, verification and deletion of the
 * source (see the package documentation and {@code docs/ARCHITECTURE.md}, "The mover").
 *
 * <p>{@link #start} or {@link #resume} installs the {@link Mirror}; {@link #run} does the rest and
 * returns when the source is gone, or throws: then the move is aborted (destination deleted,
 * source as it was) unless the caller asks to keep it for a later {@link #resume}.
 *
 * <p>The history (snapshots with their sharing, generations, change log, pins, uuid) moves through
 * a {@link VolumeTransplant}: it builds a hidden copy with the snapshots, whose head starts as the
 * newest snapshot; the copy pass copies only the regions the source's head changed since, and the
 * switch-over publishes the copy under the volume's name. A linked clone moves only with
 * {@code flatten} (the copy then holds what it reads).
 */
public final class VolumeMove {
  private static final System.Logger LOG = System.getLogger(VolumeMove.class.getName());
  private static final int REGION = Mirror.REGION;
  /** How much allocation one query covers when counting data. */
  private static final long WINDOW = 1L << 30;
  /** Checkpoints: after this many bytes copied, or this much time, whichever first. */
  private static final long CHECKPOINT_BYTES = 256L << 20;
  private static final long CHECKPOINT_NANOS = 5_000_000_000L;
  /**
   * Regions copied at once: reading one while writing another keeps both cores and the disk busy,
   * and more than the cores overlap the copiers' I/O waits ({@code -Dvstore.move.copiers} to
   * measure another count).
   */
  private static final int COPIERS = Math.max(1, Math.min(16, Integer.getInteger("vstore.move.copiers", 4)));

  /** Hears how the move goes; called on the move's thread. */
  public interface Listener {
    /** Reports {@code done} of {@code total} bytes of the current pass; may throw {@link CancellationException} to stop. */
    void progress(long done, long total);

    /** Called once every handle serves the destination, before verification: repoint what names the source datastore. */
    default void switched(MoveRecord record) throws IOException {}
  }

  /**
   * What a finished move did.
   *
   * @param allocatedBytes the bytes of data the source held at the switch-over
   * @param copiedBytes bytes the copy pass wrote to the destination
   * @param mirroredBytes bytes of client writes mirrored to the destination
   * @param switchPauseNanos how long new writes were held at the switch-over
   * @param verifiedBytes bytes compared by checksum in the verification pass
   * @param changedBytes bytes the verification skipped because clients rewrote them after the switch
   */
  public record Result(String volume, long size, long allocatedBytes, long copiedBytes, long mirroredBytes,
      long switchPauseNanos, long verifiedBytes, long changedBytes) {}

  private final Datastore source;
  private final Datastore destination;
  private final String volume;
  private final Volume sourceHead;
  private final Volume destHead;
  private final Mirror mirror;
  private final VolumeInterceptor previous;
  /** The history's copy until the switch-over; null for a move resumed after it. */
  private final VolumeTransplant transplant;
  private MoveRecord record;
  private boolean installed;
  private final RegionCopy regionCopy;
  private long switchPauseNanos;
  private boolean cancelIgnored;
  /** Bytes copied between checkpoints; smaller in tests. */
  private long checkpointBytes = CHECKPOINT_BYTES;
  /** Runs after the switch's unsynced commit and the release, before any sync: a crash point for tests. */
  private Runnable switchCommitted = () -> {};
  /** Runs after the release, before the switch's commit is written: a crash point for tests. */
  private Runnable switchReleased = () -> {};
  /** Runs between reading the committed history ahead of the switch and holding writes: a race point for tests. */
  private Runnable switchPrepared = () -> {};

  private VolumeMove(Datastore source, Datastore destination, MoveRecord record, VolumeTransplant transplant,
      Volume destHead) throws IOException {
    this.source = source;
    this.destination = destination;
    this.volume = record.volume();
    this.record = record;
    this.transplant = transplant;
    this.destHead = destHead;
    this.sourceHead = source.hasVolume(volume) ? source.volume(volume) : null;
    this.mirror = new Mirror(destHead, record.size(), record.isSwitched() ? record.size() : record.cursor(),
        transplant == null ? new BitSet() : regions(transplant.headRangesToCopy()));
    this.regionCopy = new RegionCopy(volume, sourceHead, destHead, mirror, record.size());
    if (!record.isSwitched()) {
      // From here on every write is copied or mirrored; the interceptor waits for those that missed it.
      VolumeInterceptor chained = source.setInterceptor(volume, mirror);
      this.previous = chained;
      if (chained != null) {
        mirror.chain(chained);
      }
      installed = true;
    } else {
      this.previous = null;
    }
  }

  /** Checkpoints after every {@code bytes} copied (tests use small values); returns this move. */
  VolumeMove checkpointEvery(long bytes) {
    checkpointBytes = bytes;
    return this;
  }

  /** Runs {@code hook} right after the switch's commit and the release, before anything is synced (tests crash there). */
  VolumeMove onSwitchCommitted(Runnable hook) {
    switchCommitted = hook;
    return this;
  }

  /** Runs {@code hook} right after the release, before the switch's commit is written (tests crash there; no flush may wait on it). */
  VolumeMove onSwitchReleased(Runnable hook) {
    switchReleased = hook;
    return this;
  }

  /** Runs {@code hook} after the switch has read the committed history, before it holds writes (tests write there). */
  VolumeMove onSwitchPrepared(Runnable hook) {
    switchPrepared = hook;
    return this;
  }

  /** Returns the volume being moved. */
  public String volume() {
    return volume;
  }

  /** Returns the move's record as last saved. */
  public MoveRecord record() {
    return record;
  }

  /**
   * Starts moving {@code volume} from {@code source} to {@code destination}: checks it can move,
   * saves the record, creates the empty destination volume and installs the mirror.
   *
   * @param rateLimit bytes per second for the copy pass (client writes are never throttled), 0 for none
   * @param flatten whether a linked clone may move as a flat copy of what it reads
   * @throws IllegalArgumentException if the move cannot be done, with the reason
   */
  public static VolumeMove start(Datastore source, String volume, Datastore destination, long rateLimit,
      boolean flatten) throws IOException {
    if (source.path().toAbsolutePath().normalize().equals(destination.path().toAbsolutePath().normalize())) {
      throw new IllegalArgumentException("volume " + volume + " is already in datastore " + destination.path());
    }
    if (rateLimit < 0) {
      throw new IllegalArgumentException("--rate-limit must not be negative: " + rateLimit);
    }
    VolumeInfo info = source.volumeInfo(volume);
    if (info.parent() != null && !flatten) {
      throw new IllegalArgumentException("volume " + volume + " is a linked clone of " + info.parent()
          + ", which stays in " + source.path() + ": give --flatten to move a flat copy of what it reads");
    }
    if (destination.hasVolume(volume)) {
      throw new IllegalArgumentException("datastore " + destination.path() + " already has a volume " + volume);
    }
    if (MoveRecord.load(MoveRecord.file(source.path(), volume)) != null) {
      throw new IllegalStateException("a move of volume " + volume + " is already recorded in " + source.path());
    }
    MoveRecord r = MoveRecord.start(volume, source.path().toAbsolutePath(), destination.path().toAbsolutePath(),
        info.size(), rateLimit, flatten);
    r.save(); // before the destination's copy exists, so a crash never leaves it unclaimed
    VolumeTransplant t;
    try {
      t = begin(source, destination, r);
    } catch (IOException | RuntimeException e) {
      try {
        if (VolumeTransplant.incoming(destination).stream().anyMatch(i -> i.uuid().equals(info.uuid()))) {
          VolumeTransplant.discard(destination, info.uuid());
        }
        r.delete();
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return installed(new VolumeMove(source, destination, r, t, t.head()));
  }

  /** Begins (or, with the record's claim, resumes) the transplant of the history. */
  private static VolumeTransplant begin(Datastore source, Datastore destination, MoveRecord r) throws IOException {
    try {
      return VolumeTransplant.begin(source, r.volume(), destination,
          TransplantOptions.defaults().withClaim(claim(r)).withFlatten(r.flatten()));
    } catch (UnsupportedOperationException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** The claim of a move's transplant: stable across restarts, different for each move. */
  private static String claim(MoveRecord r) {
    return "move:" + r.volume() + ":" + r.created();
  }

  /**
   * Adds to the regions to copy what the source's head changed after the transplant listed its
   * ranges and before the mirror saw every write (those writes went to the source alone).
   */
  private static VolumeMove installed(VolumeMove m) throws IOException {
    try {
      List<SnapshotInfo> snaps = m.source.snapshots(m.volume);
      List<Extent> changed = snaps.isEmpty() ? dataExtents(m.sourceHead, m.record.size())
          : m.source.changedAreas(m.volume, newest(snaps).changeId(), 0, m.record.size()).extents();
      BitSet more = regions(changed);
      long mask = m.mirror.lockAll();
      try {
        m.mirror.addPending(more);
      } finally {
        m.mirror.unlock(mask);
      }
      return m;
    } catch (IOException | RuntimeException e) {
      m.uninstall();
      throw e;
    }
  }

  private static SnapshotInfo newest(List<SnapshotInfo> snaps) {
    SnapshotInfo best = snaps.getFirst();
    for (SnapshotInfo s : snaps) {
      if (generation(s.changeId()) > generation(best.changeId())) {
        best = s;
      }
    }
    return best;
  }

  private static long generation(String changeId) {
    return Long.parseLong(changeId.substring(changeId.lastIndexOf('/') + 1));
  }

  /** Returns the regions {@code extents} touch. */
  private static BitSet regions(List<Extent> extents) {
    BitSet out = new BitSet();
    for (Extent e : extents) {
      if (e.length() > 0) {
        out.set((int) (e.offset() / REGION), (int) ((e.end() - 1) / REGION) + 1);
      }
    }
    return out;
  }

  /**
   * Resumes the move {@code r} records, after a crash or a stop: before the switch, the mirror goes
   * back at the recorded cursor and the regions below it that either side changed since the
   * checkpoint are copied again; after it, the handles are forwarded again and verification follows.
   */
  public static VolumeMove resume(Datastore source, Datastore destination, MoveRecord r) throws IOException {
    if (!r.isSwitched() && source.hasVolume(r.volume()) && destination.hasVolume(r.volume())
        && destination.volumeInfo(r.volume()).uuid().equals(source.volumeInfo(r.volume()).uuid())) {
      // The switch's commit happened, its record did not: the destination is authoritative. The
      // source's change id (flushed there or not, its last writes) names the switch on both sides.
      r = r.switched(source.changeId(r.volume()));
      r.save();
    }
    if (r.isSwitched()) {
      Volume dest = destination.volume(r.volume());
      if (source.hasVolume(r.volume())) {
        source.forwardHandles(r.volume(), dest);
      }
      return new VolumeMove(source, destination, r, null, dest);
    }
    if (!source.hasVolume(r.volume())) {
      throw new DatastoreException("cannot resume the " + r + ": the source volume is gone");
    }
    VolumeTransplant t = begin(source, destination, r);
    VolumeMove m = installed(new VolumeMove(source, destination, r, t, t.head()));
    try {
      m.reconcile();
    } catch (IOException | RuntimeException e) {
      m.uninstall();
      throw e;
    }
    return m;
  }

  /** Returns every move recorded in the datastore at {@code source}. */
  public static List<MoveRecord> pending(java.nio.file.Path source) throws IOException {
    return MoveRecord.pending(source);
  }

  /**
   * Runs the move to its end: copy pass, switch-over, verification, deletion of the source.
   *
   * @param keep asked when the move fails or is cancelled before the switch: true leaves it
   *     recorded to resume later (the daemon is stopping), false aborts it
   * @throws CorruptDataException if verification finds the two sides different (the source is kept)
   */
  public Result run(Listener listener, BooleanSupplier keep) throws IOException {
    long t0 = System.nanoTime();
    long copied = t0;
    try {
      if (!record.isSwitched()) {
        copyPass(listener);
        copied = System.nanoTime();
        switchOver();
      }
    } catch (IOException | RuntimeException e) {
      if (keep.getAsBoolean()) {
        try {
          uninstall();
        } catch (IOException | RuntimeException suppressed) {
          e.addSuppressed(suppressed); // a stopping daemon's datastore may be closed already
        }
      } else {
        try {
          abort();
        } catch (IOException | RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
    uninstall();
    listener.switched(record);
    long t1 = System.nanoTime();
    long[] verified = MoveVerification.run(source, destination, volume, destHead, record, regionCopy::sourceChecksum,
        (done, total) -> afterSwitch(listener, done, total));
    long t2 = System.nanoTime();
    finish();
    long copyNanos = copied - t0;
    LOG.log(Level.INFO, () -> String.format("moved %s: copy pass %.2f s (%d bytes copied, %d mirrored), switch-over"
        + " pause %.2f ms, verification %.2f s, deleting the source %.2f s", volume, copyNanos / 1e9, regionCopy.copiedBytes(),
        mirror.mirroredBytes(), switchPauseNanos / 1e6, (t2 - t1) / 1e9, (System.nanoTime() - t2) / 1e9));
    return new Result(volume, record.size(), verified[2], regionCopy.copiedBytes(), mirror.mirroredBytes(), switchPauseNanos,
        verified[0], verified[1]);
  }

  // ---- copy pass ----

  /**
   * Copies every region still to copy with {@link #COPIERS} copiers at once (reading ahead of the
   * cursor, on both cores), while this thread reports progress, moves the cursor over the regions
   * finished in order and checkpoints. A copier copies a region without its lock and keeps the copy
   * only if no client changed the region meanwhile ({@link RegionCopy#copy}), so client writes wait for
   * a region lock only for the moment it takes to mark a region done.
   */
  private void copyPass(Listener listener) throws IOException {
    long size = record.size();
    long regions = (size + REGION - 1) / REGION;
    long started = System.nanoTime();
    long lastCheckpoint = started;
    long copiedAtCheckpoint = regionCopy.copiedBytes();
    RegionCopiers copiers = new RegionCopiers(volume, COPIERS, mirror, size, mirror.cursor() / REGION,
        regionCopy::copy, () -> regionCopy.throttle(started, record.rateLimit()));
    try {
      long at = mirror.cursor() / REGION;
      while (true) {
        // Regions never to copy count as copied already, so the cursor passes them with those done.
        while (at < regions && mirror.copied(at)) {
          at++;
        }
        mirror.advance(Math.max(mirror.cursor(), Math.min(size, at * REGION)));
        listener.progress(mirror.cursor(), size);
        if (at >= regions) {
          break;
        }
        copiers.check();
        long now = System.nanoTime();
        if (mirror.cursor() > record.cursor() && (regionCopy.copiedBytes() - copiedAtCheckpoint >= checkpointBytes
            || now - lastCheckpoint >= CHECKPOINT_NANOS)) {
          checkpoint();
          lastCheckpoint = System.nanoTime();
          copiedAtCheckpoint = regionCopy.copiedBytes();
        }
        copiers.awaitProgress();
      }
      copiers.stopAndJoin();
      copiers.check();
    } finally {
      copiers.stopAndJoin();
    }
    long mask = mirror.lockAll();
    try {
      mirror.advance(size);
    } finally {
      mirror.unlock(mask);
    }
    listener.progress(size, size);
  }

  /** Returns the DATA extents of {@code v}, read window by window. */
  private static List<Extent> dataExtents(Volume v, long size) throws IOException {
    List<Extent> out = new java.util.ArrayList<>();
    for (long at = 0; at < size; at += WINDOW) {
      for (Extent e : v.allocation(at, Math.min(WINDOW, size - at))) {
        if (e.kind() == Extent.Kind.DATA) {
          out.add(e);
        }
      }
    }
    return out;
  }


  // ---- checkpoints and resume ----

  /**
   * Persists the cursor once everything copied below it is durable on the destination (both sides
   * flushed first). After a crash the resume compares every copied region of both sides anyway,
   * since each datastore commits on its own and a mirrored write may survive on one side only; the
   * cursor saves copying again what is known to be there.
   */
  private void checkpoint() throws IOException {
    long at = mirror.cursor();
    source.flush();
    destination.flush();
    MoveRecord next = record.withCursor(at);
    next.save();
    record = next;
  }

  /**
   * After a restart: makes every region that counts as copied (below the cursor, or never to copy)
   * equal on both sides, comparing CRC32Cs under the region's lock and copying those that differ.
   */
  private void reconcile() throws IOException {
    ByteBuffer a = ByteBuffer.allocateDirect(REGION);
    ByteBuffer b = ByteBuffer.allocateDirect(REGION);
    long size = record.size();
    for (long r = 0; r * REGION < size; r++) {
      long start = r * REGION;
      long length = Math.min(REGION, size - start);
      long mask = mirror.lock(r, r + 1);
      try {
        if (!mirror.copied(r)) {
          continue;
        }
        boolean empty = RegionCopy.firstOf(sourceHead.allocation(start, length), true, -1) < 0
            && RegionCopy.firstOf(destHead.allocation(start, length), false, -1) < 0;
        if (!empty && MoveVerification.crc(sourceHead, start, length, a) != MoveVerification.crc(destHead, start, length, b)) {
          regionCopy.copyLocked(r, a);
        }
      } finally {
        mirror.unlock(mask);
      }
    }
  }

  /** The label of the move's pin of {@code changeId}. */
  private String label(String changeId) {
    return "move:" + volume + ":" + changeId.replace('/', ':');
  }

  private void unpin(Datastore ds, String changeId) {
    if (changeId == null) {
      return;
    }
    try {
      if (ds.hasVolume(volume)) {
        ds.unpinChangeId(label(changeId));
      }
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "cannot unpin " + changeId + " of " + volume + " in " + ds.path() + ": " + e.getMessage());
    }
  }

  // ---- switch-over, verification, end ----

  /**
   * Holds new writes, publishes the copy in memory (the transplant's one commit, of the destination
   * only, staged as its next) and forwards every handle of the source volume to the destination,
   * then releases and only then writes that commit, unsynced: a pause of about a millisecond with
   * no I/O in it, whatever the volume's size or the disk's latency. Both sides are flushed before
   * the hold, their background flushers paused from before that flush until the commit is written,
   * and only what clients wrote in the last moments is pending; after the write the switch is
   * synced ({@code syncSwitch}, with those writes on the destination) and the source, no longer
   * written once its handles forward, is flushed.
   *
   * <p>Why the source stays authoritative until the commit is written, and no flushed byte is lost:
   * the destination's commits go in ticket order, and the switch's ticket is taken in the hold, so
   * every commit after the release (a client's flush through a forwarded handle, even one with
   * nothing pending, a background flush, a change-id query) waits for the switch's write and a synced
   * one makes it durable too. A crash before the write loses only the destination's unflushed writes
   * since the release (no flush of them can have returned) and leaves the copy unpublished: the
   * source holds every byte flushed before the hold, the record is not switched, and resume goes on
   * from the checkpoint. A power loss before the sync does the same (clients' flushes after the
   * release sync the switch along with their writes). A crash after the write leaves the
   * destination authoritative and the source behind by the last writes: the switch's change id
   * (the source's generation the copy stands for, answered alike on both sides) counts them as
   * changed since the switch, so verification skips them, and resume takes it from the source.
   * The record is saved as switched after the source's flush; a crash before that is recognised at
   * resume by the destination holding the source's uuid under the volume's name.
   */
  private void switchOver() throws IOException {
    SwitchHold.Outcome switched = SwitchHold.run(source, destination, transplant, mirror, volume, destHead,
        switchPrepared, switchReleased);
    switchPauseNanos = switched.pauseNanos();
    String switchChangeId = switched.changeId();
    switchCommitted.run();
    transplant.syncSwitch();
    source.flush(); // its last writes, for verification; nothing writes it any more
    record = record.switched(switchChangeId);
    record.save();
    destination.pinChangeId(record.switchChangeId(), label(record.switchChangeId()));
  }

  /** Reports progress after the switch, when the move can no longer be cancelled: it only finishes. */
  private void afterSwitch(Listener listener, long done, long total) {
    try {
      listener.progress(done, total);
    } catch (CancellationException e) {
      if (!cancelIgnored) {
        cancelIgnored = true;
        LOG.log(Level.INFO, "the move of " + volume + " has switched over; it finishes instead of cancelling");
      }
    }
  }

  /** Deletes the source volume, the switch pin and the record: the move is over. */
  private void finish() throws IOException {
    if (source.hasVolume(volume)) {
      source.deleteVolume(volume, true);
    }
    unpin(destination, record.switchChangeId());
    if (sourceHead != null) {
      sourceHead.close();
    }
    record.delete();
  }

  /** Removes the mirror (putting back an interceptor it wrapped). Idempotent. */
  private void uninstall() throws IOException {
    if (!installed) {
      return;
    }
    installed = false;
    if (source.hasVolume(volume)) {
      if (previous != null) {
        source.setInterceptor(volume, previous);
      } else {
        source.clearInterceptor(volume);
      }
    }
  }

  /**
   * Abandons the move before its switch: the mirror goes, the destination volume and the move's
   * pins are deleted and the record last, so the source is as it would be without the move.
   *
   * @throws IllegalStateException once the move has switched over (the destination is authoritative)
   */
  public void abort() throws IOException {
    if (record.isSwitched()) {
      throw new IllegalStateException("the move of " + volume + " has switched over to " + record.destination()
          + "; it can no longer be aborted");
    }
    uninstall();
    transplant.abort();
    if (sourceHead != null) {
      sourceHead.close();
    }
    record.delete();
  }
}
