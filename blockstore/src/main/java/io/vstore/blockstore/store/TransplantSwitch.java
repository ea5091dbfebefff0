package io.vstore.blockstore.store;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;
import org.rocksdb.RocksIterator;

/**
 * The switch of a {@link VolumeTransplant}: with both datastores' commit locks held (the source's
 * writes wait), {@link #run} publishes the incoming volume under its name in memory and stages, as
 * the destination's next commit, its catalog entry with the source's generation, its change-log
 * rows (verbatim, re-keyed to the new volume id; the blocks the source changed since its last flush
 * as one more row) and its pins. {@link #write} writes that commit, not synced, once the caller has
 * released its clients: every later commit of the destination waits for it, so no flush makes a
 * write to the published volume durable without the switch. Nothing is synced and the source is
 * not committed: the caller flushes both beforehand (so what the commit leaves pending is only the
 * last moments' writes) and, after, makes the switch durable ({@link VolumeTransplant#syncSwitch})
 * and flushes the source. Everything that can refuse is checked before anything changes.
 */
final class TransplantSwitch {
  private final StoreParts src;
  private final VolumeState from;
  private final StoreParts dst;
  private final VolumeState to;
  /** The source's generation the copy was published with: its committed one, or one more for its unflushed changes. */
  private long switchedAt = -1;
  /** The source's committed generation when {@link #prepare} read its rows, or -1 if it did not. */
  private long preparedAt = -1;
  /** The source's change-log rows up to {@link #preparedAt}, read before the switch's hold. */
  private List<RawRow> preparedRows = List.of();
  /** How many rows {@link #run} read itself, for the log. */
  private int rowsReadInHold;
  /** When {@link #run} began, and its marks for {@link #timings} (null until it ran). */
  private long runStarted;
  private volatile long[] marks;
  /** The switch's commit, staged by {@link #run}, until {@link #write} writes it. */
  private CommitPipeline.UnsyncedCommit staged;
  private long writeNanos = -1;

  TransplantSwitch(StoreParts src, VolumeState from, StoreParts dst, VolumeState to) {
    this.src = src;
    this.from = from;
    this.dst = dst;
    this.to = to;
  }

  /** One change-log row as stored: its key's generation and its value. */
  private record RawRow(long generation, byte[] value) {}

  /**
   * Reads, before the caller holds writes, the source's change-log rows up to its committed
   * generation, so that {@link #run} reads only the rows committed after (usually none: the caller
   * flushed and paused the background flushes). Reading them all inside the hold was most of the
   * switch-over's pause under load (15-29 ms), since the seek passes the tombstones of every merged
   * row. Rows merged meanwhile leave these ones a finer but equally true history; {@link #run}
   * falls back to reading them all if a newer row reaches back below this generation.
   */
  void prepare() throws IOException {
    src.commits().awaitCommitted();
    long generation;
    from.lock.readLock().lock();
    try {
      generation = from.committedGeneration();
    } finally {
      from.lock.readLock().unlock();
    }
    // Read after the generation: every row up to it is committed, so the iterator sees it.
    preparedRows = rows(src.meta(), from.id, 0, generation);
    preparedAt = generation;
  }

  /**
   * Publishes the incoming volume as {@code name} in memory and stages its commit for {@link
   * #write}; takes the source's commit lock first when {@code sourceFirst}. Returns the source's generation the copy now stands for: the source's
   * change id at that generation (once the source is flushed) names the switch on both sides.
   */
  long run(String name, boolean sourceFirst) throws IOException {
    runStarted = System.nanoTime();
    Lock s = src.commits().lock().writeLock();
    Lock d = dst.commits().lock().writeLock();
    Lock first = sourceFirst ? s : d;
    Lock second = sourceFirst ? d : s;
    first.lock();
    try {
      second.lock();
      try {
        switchLocked(name);
        return switchedAt;
      } finally {
        second.unlock();
      }
    } finally {
      first.unlock();
    }
  }

  private void switchLocked(String name) throws IOException {
    src.commits().checkOpen();
    dst.commits().checkOpen();
    if (from.isDeleted()) {
      throw new DatastoreException("cannot finish the move of volume " + from.name + ": it was deleted from "
          + src.dir());
    }
    if (to.isDeleted() || to.incoming() == null) {
      throw new IllegalStateException("the copy of volume " + from.name + " in " + dst.dir() + " is gone");
    }
    if (dst.volumes().contains(name)) {
      throw new DatastoreException("cannot finish the move of volume " + from.name + ": datastore " + dst.dir()
          + " already has a volume " + name);
    }
    for (VolumeState v : dst.volumes().all()) {
      if (v.uuid.equals(to.uuid)) {
        throw new DatastoreException("cannot finish the move of volume " + from.name + ": volume " + v.name + " of "
            + dst.dir() + " has the same uuid " + v.uuid);
      }
    }
    long t0 = System.nanoTime();
    // No flush of the source here: the rows of its committed generations are read as they are, and
    // the blocks it changed since (mirrored to the copy, all of them) become the copy's next row.
    src.commits().awaitCommitted();
    long generation;
    byte[] pending;
    from.lock.readLock().lock();
    try {
      generation = from.committedGeneration();
      pending = from.unflushedChangeRow();
    } finally {
      from.lock.readLock().unlock();
    }
    long sourceGeneration = pending == null ? generation : generation + 1;
    List<SnapshotState> want = VolumeTransplant.snapshotsOf(from);
    List<SnapshotState> have = VolumeTransplant.snapshotsOf(to);
    for (SnapshotState w : want) {
      if (have.stream().noneMatch(h -> TransplantHistory.same(w, h))) {
        throw new IllegalStateException("cannot finish the move of volume " + from.name + ": snapshot " + from.name
            + "@" + w.name() + " was made on the source after the move began (abort the move and start again)");
      }
    }
    long tRows = System.nanoTime();
    List<RawRow> rows = rowsUpTo(generation);
    long tPins = System.nanoTime();
    List<byte[][]> pins = ChangePins.copies(src.meta(), from.id, dst.meta(), to.id);
    if (pending != null) {
      rows.add(new RawRow(sourceGeneration, pending));
    }
    long t1 = System.nanoTime();
    for (SnapshotState h : have) {
      if (want.stream().noneMatch(w -> TransplantHistory.same(w, h))) {
        dropSnapshot(dst, to, h); // deleted on the source during the move; rare, so its own commits
      }
    }
    VolumeRecord.Incoming mark = to.incoming();
    // Head writes are born one past the newest snapshot's generation. The source is at least
    // there once its head changed, as it must have if the copy's head was written; if not (the
    // caller wrote what the source did not), the copy commits that one generation more, which no
    // change id of the source names, and which changed nothing the source's change ids can see.
    long publishedAt = to.writtenSinceMark() && mark.copyingHead() ? Math.max(sourceGeneration, mark.birth())
        : sourceGeneration;
    MetaStore meta = dst.meta();
    CommitPipeline commits = dst.commits();
    // The switch's one commit, staged here and written after the caller's release (the write took
    // 1-9 ms under load, and a write can wait for the page cache when the disk is busy), not
    // synced: the entry publishing the copy as last committed (its sizes those of the last flush,
    // whose maps it matches), the change log and the pins. It points at no segment bytes; the
    // copy's head changes since that flush commit with the next one, like any unflushed write.
    long tAwait = System.nanoTime();
    commits.awaitCommitted();
    long tGet = System.nanoTime();
    byte[] committed = meta.get(meta.catalog, Keys.catalog('v', to.id));
    if (committed == null) {
      throw new IllegalStateException("the copy of volume " + from.name + " in " + dst.dir() + " has no catalog entry");
    }
    VolumeRecord record = VolumeRecord.decode(committed).published(name, publishedAt);
    long tStage = System.nanoTime();
    staged = commits.stageUnsyncedLocked(batch -> {
      batch.put(meta.catalog, Keys.catalog('v', to.id), record.encode());
      for (RawRow r : rows) {
        batch.put(meta.changes, Keys.pair(to.id, r.generation()), r.value());
      }
      for (byte[][] pin : pins) {
        batch.put(meta.catalog, pin[0], pin[1]);
      }
    });
    long tPublish = System.nanoTime();
    to.publish(name, publishedAt);
    dst.volumes().publish(to);
    switchedAt = sourceGeneration;
    long t2 = System.nanoTime();
    // Kept for the caller to log once writes are released: logging here would lengthen the pause.
    marks = new long[] {t0 - runStarted, tRows - t0, rows.size(), rowsReadInHold, tPins - tRows, t1 - tPins,
        tAwait - t1, tGet - tAwait, tStage - tGet, tPublish - tStage, t2 - tPublish};
  }

  /**
   * Writes the commit {@link #run} staged, to the log but not synced, after every earlier commit;
   * does nothing if it is written or {@code run} staged none. Call once the clients are released,
   * before anything waits for the destination's commits.
   */
  void write() throws IOException {
    CommitPipeline.UnsyncedCommit commit = staged;
    if (commit == null) {
      return;
    }
    staged = null;
    long t = System.nanoTime();
    dst.commits().writeUnsynced(commit);
    writeNanos = System.nanoTime() - t;
  }

  /** Describes where the time of {@link #run} went (for the move's log), or says it has not run. */
  String timings() {
    long[] m = marks;
    if (m == null) {
      return "not run";
    }
    return String.format("commit locks and name checks %.2f ms, awaiting commits and snapshot checks %.2f ms,"
        + " %d change-log rows (%d read in the hold) %.2f ms, pins %.2f ms, dropped snapshots %.2f ms, awaiting the"
        + " destination's commits %.2f ms, reading its catalog entry %.2f ms, staging the commit %.2f ms, publishing"
        + " %.2f ms; writing the commit after the release %.2f ms", m[0] / 1e6, m[1] / 1e6, m[2], m[3], m[4] / 1e6,
        m[5] / 1e6, m[6] / 1e6, m[7] / 1e6, m[8] / 1e6, m[9] / 1e6, m[10] / 1e6, writeNanos / 1e6);
  }

  /**
   * Returns the source's change-log rows up to {@code generation}: those {@link #prepare} read and
   * the ones committed since, or all of them read now if there was no prepare or a row merged
   * since reaches back into the prepared ones (the two would overlap).
   */
  private List<RawRow> rowsUpTo(long generation) throws IOException {
    if (preparedAt < 0 || generation < preparedAt) {
      return allRowsInHold(generation);
    }
    List<RawRow> newer = generation == preparedAt ? List.of() : rows(src.meta(), from.id, preparedAt + 1, generation);
    rowsReadInHold = newer.size();
    for (RawRow r : newer) {
      if (ChangeLog.Row.decode(from.id, r.generation(), r.value()).from() < preparedAt) {
        return allRowsInHold(generation);
      }
    }
    List<RawRow> out = new ArrayList<>(preparedRows.size() + newer.size() + 1);
    out.addAll(preparedRows);
    out.addAll(newer);
    return out;
  }

  /**
   * Deletes snapshot {@code s} of incoming volume {@code v} (the source deleted it); the caller holds
   * the commit lock exclusively. Durable once the next flush commits.
   */
  static void dropSnapshot(StoreParts parts, VolumeState v, SnapshotState s) throws IOException {
    CommitPipeline commits = parts.commits();
    commits.flushLocked(); // dropSnapshot works on committed maps
    v.dropSnapshot(s);
    long id = s.record.id();
    MetaStore meta = parts.meta();
    commits.stage(batch -> batch.deleteRange(meta.maps, Keys.pair(id, 0), Keys.pair(id + 1, 0)));
    commits.stage(batch -> batch.delete(meta.catalog, Keys.catalog('n', id)));
    commits.flushLocked();
  }

  private List<RawRow> allRowsInHold(long generation) {
    List<RawRow> all = rows(src.meta(), from.id, 0, generation);
    rowsReadInHold = all.size();
    return all;
  }

  /** Returns the change-log rows of volume id {@code volume} with generations in {@code [from, upTo]}, as stored. */
  private static List<RawRow> rows(MetaStore meta, long volume, long from, long upTo) {
    List<RawRow> out = new ArrayList<>();
    try (RocksIterator it = meta.iterator(meta.changes)) {
      for (it.seek(Keys.pair(volume, from)); it.isValid() && Keys.first(it.key()) == volume; it.next()) {
        long g = Keys.second(it.key());
        if (g > upTo) {
          break;
        }
        out.add(new RawRow(g, it.value()));
      }
    }
    return out;
  }
}
