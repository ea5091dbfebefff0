package io.vstore.engine.move;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.VolumeInterceptor;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreException;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.store.VolumeInfo;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.TreeSet;
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
 * <p>Until a history transplant is available the head alone moves: a volume with snapshots is
 * refused, and so is a linked clone unless {@code flatten} (the copy then holds what it reads).
 */
public final class VolumeMove {
  private static final System.Logger LOG = System.getLogger(VolumeMove.class.getName());
  private static final int REGION = Mirror.REGION;
  /** How far one look for regions worth copying reaches, with every region locked. */
  private static final long SKIP_WINDOW = 1L << 30;
  /** Checkpoints: after this many bytes copied, or this much time, whichever first. */
  private static final long CHECKPOINT_BYTES = 256L << 20;
  private static final long CHECKPOINT_NANOS = 5_000_000_000L;
  /** The source snapshot the verification reads (head handles forward to the destination by then). */
  static final String VERIFY_SNAPSHOT = "vstore-move-verify";

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
   * @param allocatedBytes the bytes of data the source held when the copy started
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
  private MoveRecord record;
  private boolean installed;
  private long allocatedBytes;
  private long copiedBytes;
  private long switchPauseNanos;
  private boolean cancelIgnored;
  /** Bytes copied between checkpoints; smaller in tests. */
  private long checkpointBytes = CHECKPOINT_BYTES;

  private VolumeMove(Datastore source, Datastore destination, MoveRecord record, Volume destHead) throws IOException {
    this.source = source;
    this.destination = destination;
    this.volume = record.volume();
    this.record = record;
    this.destHead = destHead;
    this.sourceHead = source.hasVolume(volume) ? source.volume(volume) : null;
    this.mirror = new Mirror(destHead, record.isSwitched() ? record.size() : record.cursor());
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
    if (info.snapshots() > 0) {
      throw new IllegalArgumentException("volume " + volume + " has " + info.snapshots() + " snapshot"
          + (info.snapshots() == 1 ? "" : "s") + ": moving snapshots is not supported yet (delete them first)");
    }
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
    r.save(); // before the destination exists, so a crash never leaves it unclaimed
    Volume dest;
    try {
      dest = destination.createVolume(volume, info.size());
    } catch (IOException | RuntimeException e) {
      r.delete();
      throw e;
    }
    return new VolumeMove(source, destination, r, dest);
  }

  /**
   * Resumes the move {@code r} records, after a crash or a stop: before the switch, the mirror goes
   * back at the recorded cursor and the regions below it that either side changed since the
   * checkpoint are copied again; after it, the handles are forwarded again and verification follows.
   */
  public static VolumeMove resume(Datastore source, Datastore destination, MoveRecord r) throws IOException {
    if (r.isSwitched()) {
      Volume dest = destination.volume(r.volume());
      if (source.hasVolume(r.volume())) {
        source.forwardHandles(r.volume(), dest);
      }
      return new VolumeMove(source, destination, r, dest);
    }
    if (!source.hasVolume(r.volume())) {
      throw new DatastoreException("cannot resume the " + r + ": the source volume is gone");
    }
    if (!destination.hasVolume(r.volume())) {
      MoveRecord fresh = r.withCheckpoint(0, null, null);
      fresh.save();
      return new VolumeMove(source, destination, fresh, destination.createVolume(r.volume(), r.size()));
    }
    VolumeMove m = new VolumeMove(source, destination, r, destination.volume(r.volume()));
    try {
      m.recopyChangedSinceCheckpoint();
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
    try {
      if (!record.isSwitched()) {
        allocatedBytes = dataBytes(sourceHead, record.size());
        copyPass(listener);
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
    long[] verified = verify(listener);
    finish();
    return new Result(volume, record.size(), allocatedBytes, copiedBytes, mirror.mirroredBytes(), switchPauseNanos,
        verified[0], verified[1]);
  }

  // ---- copy pass ----

  private void copyPass(Listener listener) throws IOException {
    long size = record.size();
    ByteBuffer buffer = ByteBuffer.allocateDirect(REGION);
    long started = System.nanoTime();
    long lastCheckpoint = started;
    long copiedAtCheckpoint = copiedBytes;
    while (true) {
      listener.progress(mirror.cursor(), size);
      long now = System.nanoTime();
      if (mirror.cursor() > record.cursor()
          && (copiedBytes - copiedAtCheckpoint >= checkpointBytes || now - lastCheckpoint >= CHECKPOINT_NANOS)) {
        checkpoint();
        lastCheckpoint = System.nanoTime();
        copiedAtCheckpoint = copiedBytes;
      }
      long next = skipToWork(size);
      if (next >= size) {
        break;
      }
      if (next % REGION != 0 || next != mirror.cursor()) {
        continue; // the window ended without finding work: look again from there
      }
      copyRegion(next / REGION, buffer, true);
      throttle(started);
    }
    listener.progress(size, size);
  }

  /**
   * Moves the cursor over regions that need no copying (the source reads zeros there and the
   * destination holds nothing) within one window, every region locked so no write slips past, and
   * returns the cursor: the start of a region to copy, the window's end, or the size.
   */
  private long skipToWork(long size) throws IOException {
    long from = mirror.cursor();
    long end = Math.min(size, from + SKIP_WINDOW);
    long mask = mirror.lockAll();
    try {
      long first = Math.min(firstOf(sourceHead.allocation(from, end - from), true, end),
          firstOf(destHead.allocation(from, end - from), false, end));
      long target = first >= end ? end : first / REGION * REGION;
      if (target > from) {
        mirror.advance(target);
      }
      return mirror.cursor();
    } finally {
      mirror.unlock(mask);
    }
  }

  /** Returns where the first DATA extent (or, if {@code dataOnly} is false, anything but a hole) starts, or {@code none}. */
  private static long firstOf(List<Extent> extents, boolean dataOnly, long none) {
    for (Extent e : extents) {
      if (dataOnly ? e.kind() == Extent.Kind.DATA : e.kind() != Extent.Kind.HOLE) {
        return e.offset();
      }
    }
    return none;
  }

  /**
   * Makes region {@code r} of the destination equal the source's under the region's lock: copies
   * the source's data extents and zeros what the destination holds where the source reads zeros
   * (left there by a copy before a crash); moves the cursor past it if {@code advance}.
   */
  private void copyRegion(long r, ByteBuffer buffer, boolean advance) throws IOException {
    long start = r * REGION;
    long length = Math.min(REGION, record.size() - start);
    long mask = mirror.lock(r, r + 1);
    try {
      for (Extent e : sourceHead.allocation(start, length)) {
        if (e.kind() == Extent.Kind.DATA) {
          ByteBuffer b = buffer.clear().limit((int) e.length());
          sourceHead.read(e.offset(), b);
          destHead.write(e.offset(), b.flip());
          copiedBytes += e.length();
        } else if (firstOf(destHead.allocation(e.offset(), e.length()), false, -1) >= 0) {
          destHead.writeZeroes(e.offset(), e.length(), true);
        }
      }
      if (advance) {
        mirror.advance(start + length);
      }
    } finally {
      mirror.unlock(mask);
    }
  }

  /** Sleeps as long as the rate limit asks; the limit applies to the copy pass only. */
  private void throttle(long started) {
    long rate = record.rateLimit();
    if (rate <= 0) {
      return;
    }
    long due = started + (long) (copiedBytes * 1e9 / rate);
    long wait = due - System.nanoTime();
    if (wait > 0) {
      try {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CancellationException("the move of " + volume + " was interrupted");
      }
    }
  }

  /** Returns the bytes of DATA extents of {@code v}, read window by window. */
  private static long dataBytes(Volume v, long size) throws IOException {
    long total = 0;
    for (long at = 0; at < size; at += SKIP_WINDOW) {
      for (Extent e : v.allocation(at, Math.min(SKIP_WINDOW, size - at))) {
        if (e.kind() == Extent.Kind.DATA) {
          total += e.length();
        }
      }
    }
    return total;
  }

  // ---- checkpoints and resume ----

  /**
   * Persists the cursor. Below it, the destination equals the source once both are flushed with
   * writes held; the change ids of both sides at that instant are pinned and recorded, so that
   * after a crash exactly the regions either side changed since are copied again (each datastore
   * commits on its own, so a mirrored write may survive on one side only).
   */
  private void checkpoint() throws IOException {
    source.flush(); // most of the work outside the hold, so the hold is short
    destination.flush();
    String sourceId;
    String destId;
    long at;
    long stamp = mirror.holdWrites();
    try {
      sourceId = source.changeId(volume);
      destId = destination.changeId(volume);
      at = mirror.cursor();
    } finally {
      mirror.release(stamp);
    }
    // Pinned at once: the 16 newest generations stay exact, and a pin takes a synced commit of its own.
    source.pinChangeId(sourceId, label(sourceId));
    destination.pinChangeId(destId, label(destId));
    MoveRecord before = record;
    MoveRecord next = record.withCheckpoint(at, sourceId, destId);
    next.save();
    record = next;
    unpin(source, before.sourceCheckpoint());
    unpin(destination, before.destinationCheckpoint());
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

  /** After a restart: copies again every region below the cursor that either side changed since the checkpoint. */
  private void recopyChangedSinceCheckpoint() throws IOException {
    long cursor = record.cursor();
    if (cursor == 0) {
      return;
    }
    TreeSet<Long> regions = new TreeSet<>();
    try {
      if (record.sourceCheckpoint() == null || record.destinationCheckpoint() == null) {
        throw new DatastoreException("no checkpoint");
      }
      for (Extent e : source.changedAreas(volume, record.sourceCheckpoint(), 0, cursor).extents()) {
        addRegions(regions, e);
      }
      for (Extent e : destination.changedAreas(volume, record.destinationCheckpoint(), 0, cursor).extents()) {
        addRegions(regions, e);
      }
    } catch (IOException | IllegalArgumentException e) {
      // Without an exact answer the copy starts over; what the destination holds is zeroed as it goes.
      LOG.log(Level.WARNING, "resuming the " + record + " from the start: " + e.getMessage());
      long mask = mirror.lockAll();
      try {
        mirror.reset(0);
      } finally {
        mirror.unlock(mask);
      }
      return;
    }
    ByteBuffer buffer = ByteBuffer.allocateDirect(REGION);
    for (long r : regions) {
      copyRegion(r, buffer, false);
    }
  }

  private static void addRegions(TreeSet<Long> regions, Extent e) {
    for (long r = e.offset() / REGION; r * REGION < e.end(); r++) {
      regions.add(r);
    }
  }

  // ---- switch-over, verification, end ----

  /**
   * Holds new writes, flushes both sides, records the switch and forwards every handle of the
   * source volume to the destination, then releases: a pause of two flushes and one small file
   * write, whatever the volume's size.
   */
  private void switchOver() throws IOException {
    source.flush();
    destination.flush();
    long stamp = mirror.holdWrites();
    long held = System.nanoTime();
    try {
      source.flush();
      String destId = destination.changeId(volume);
      MoveRecord next = record.switched(destId);
      next.save();
      record = next;
      source.forwardHandles(volume, destHead);
    } finally {
      switchPauseNanos = System.nanoTime() - held;
      mirror.release(stamp);
    }
    destination.pinChangeId(record.switchChangeId(), label(record.switchChangeId()));
    unpin(source, record.sourceCheckpoint());
    unpin(destination, record.destinationCheckpoint());
  }

  /**
   * Compares the source as it was at the switch (a snapshot of it: its head handles forward by now)
   * with the destination, per region by CRC32C, skipping what clients changed on the destination
   * since the switch. Returns the bytes compared and the bytes skipped.
   */
  private long[] verify(Listener listener) throws IOException {
    if (!source.hasVolume(volume)) {
      return new long[] {0, 0}; // deleted after verification, before the record went
    }
    boolean hasSnapshot = source.snapshots(volume).stream().map(SnapshotInfo::name)
        .anyMatch(VERIFY_SNAPSHOT::equals);
    if (!hasSnapshot) {
      source.createSnapshot(volume, VERIFY_SNAPSHOT);
    }
    long size = record.size();
    long compared = 0;
    long skipped = 0;
    ByteBuffer a = ByteBuffer.allocateDirect(REGION);
    ByteBuffer b = ByteBuffer.allocateDirect(REGION);
    try (Volume old = source.volume(volume + "@" + VERIFY_SNAPSHOT, true)) {
      for (long start = 0; start < size; start += REGION) {
        afterSwitch(listener, start, size);
        long length = Math.min(REGION, size - start);
        if (changedSinceSwitch(start, length)) {
          skipped += length;
          continue;
        }
        boolean zeros = firstOf(old.allocation(start, length), true, -1) < 0
            && firstOf(destHead.allocation(start, length), true, -1) < 0;
        if (zeros) {
          continue; // both read zeros there
        }
        long before = crc(old, start, length, a);
        long after = crc(destHead, start, length, b);
        if (changedSinceSwitch(start, length)) {
          skipped += length;
          continue;
        }
        if (before != after) {
          throw new CorruptDataException("verification of the move of " + volume + " failed: the 1 MiB region at "
              + start + " has CRC32C " + Long.toHexString(before) + " in " + source.path() + " and "
              + Long.toHexString(after) + " in " + destination.path() + "; the source volume is kept");
        }
        compared += length;
      }
    }
    afterSwitch(listener, size, size);
    return new long[] {compared, skipped};
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

  private boolean changedSinceSwitch(long offset, long length) throws IOException {
    return !destination.changedAreas(volume, record.switchChangeId(), offset, length).extents().isEmpty();
  }

  private static long crc(Volume v, long offset, long length, ByteBuffer buffer) throws IOException {
    ByteBuffer b = buffer.clear().limit((int) length);
    v.read(offset, b);
    java.util.zip.CRC32C c = new java.util.zip.CRC32C();
    c.update(b.flip());
    return c.getValue();
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
    destHead.close();
    if (destination.hasVolume(volume)) {
      destination.deleteVolume(volume, true);
    }
    unpin(source, record.sourceCheckpoint());
    if (sourceHead != null) {
      sourceHead.close();
    }
    record.delete();
  }
}
