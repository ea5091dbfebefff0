package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.rocksdb.RocksIterator;

/**
 * Reclaims dead space, log-structured style: copies the live records of mostly-dead segments to
 * the end of the log, commits the new locations, and only then deletes the old segment. A crash
 * at any point leaves either the old or the new location referenced, never neither.
 */
final class SegmentCleaner {
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore.cleaner");
  private final Object owner;
  private final MetaStore meta;
  private final SegmentFiles segments;
  private final SegmentUsage usage;
  private final CommitPipeline commits;
  private final VolumeCatalog volumes;
  private final Capacity capacity;
  private final double cleanBelowLiveRatio;
  private final LongAdder foregroundOps;
  @GuardedBy("this")
  private Thread background;
  private volatile boolean stopping;
  /** Where the background thread waits between rounds; stopping wakes it. */
  private final Object wakeup = new Object();
  /** Fragmented 1 MiB ranges rewritten per round at most: bounds the I/O one round adds. */
  static final int DEFRAGMENT_PER_ROUND = 1024;
  /** What every pass so far did; replaced (under this cleaner's lock) at the end of each pass. */
  private volatile CleanerStats totals = CleanerStats.NONE;

  /**
   * Creates the cleaner of {@code owner} (named in messages); background rounds clean below
   * {@code cleanBelowLiveRatio} and count volumes busy by {@code foregroundOps}.
   */
  SegmentCleaner(Object owner, StoreParts parts, double cleanBelowLiveRatio, LongAdder foregroundOps) {
    this.owner = owner;
    this.meta = parts.meta();
    this.segments = parts.segments();
    this.usage = parts.usage();
    this.commits = parts.commits();
    this.volumes = parts.volumes();
    this.capacity = parts.capacity();
    this.cleanBelowLiveRatio = cleanBelowLiveRatio;
    this.foregroundOps = foregroundOps;
  }

  /** Starts cleaning every {@code interval} in a background thread (no-op for zero). */
  synchronized void startBackground(Duration interval) {
    if (interval.isZero() || interval.isNegative()) {
      return;
    }
    background = Thread.ofVirtual().name("vstore-cleaner").start(() -> {
      while (!stopping) {
        try {
          synchronized (wakeup) {
            if (!stopping) {
              wakeup.wait(interval.toMillis());
            }
          }
          if (!stopping && yieldsToForeground(interval)) {
            LOG.log(System.Logger.Level.DEBUG, "{0} is busy and its dead space within bounds: cleaning waits", owner);
          } else if (!stopping) {
            int rewritten = defragmentNoted();
            if (rewritten > 0) {
              LOG.log(System.Logger.Level.DEBUG, "rewrote {0} fragmented ranges of {1} in order", rewritten, owner);
            }
            CleanerReport r = clean(cleanBelowLiveRatio, false);
            if (r.segmentsCleaned() > 0) {
              LOG.log(System.Logger.Level.INFO, "cleaned {0} segments of {1}, reclaimed {2} bytes",
                  r.segmentsCleaned(), owner, r.bytesReclaimed());
            }
          }
        } catch (InterruptedException e) {
          return;
        } catch (IOException | RuntimeException e) {
          if (!stopping) {
            LOG.log(System.Logger.Level.ERROR, "background cleaning of " + owner + " failed", e);
          }
        }
      }
    });
  }

  /** Foreground operations per second above which the datastore counts as busy. */
  static final long BUSY_OPS_PER_SECOND = 100;
  /** Dead space the cleaner lets a busy datastore keep: this much at least, or twice the live data. */
  static final long MIN_DEAD_BYTES_WHILE_BUSY = 1L << 30;
  /** Read and written by the background thread only. */
  private long opsAtLastRound;

  /**
   * Returns whether this background round should let busy volumes go first. Cleaning copies live
   * data and competes for the disk and the CPU: run while guests are busy, it took a third of a
   * random-read workload's throughput (measured over NBD). So while volumes are busy, and dead
   * space stays within bounds and no capacity alarm is raised, it waits for a quieter round.
   */
  private boolean yieldsToForeground(Duration interval) {
    long ops = foregroundOps.sum();
    long recent = ops - opsAtLastRound;
    opsAtLastRound = ops;
    return yields(recent, interval, segments.totalBytes(), usage.totalLive(), capacity.alarmed());
  }

  /**
   * The cleaner's yield rule: busy ({@code recentOps} over {@code interval} above
   * {@link #BUSY_OPS_PER_SECOND}), dead bytes within the larger of twice the live bytes and
   * {@link #MIN_DEAD_BYTES_WHILE_BUSY}, and no capacity alarm.
   */
  static boolean yields(long recentOps, Duration interval, long segmentBytes, long liveBytes, boolean alarmed) {
    boolean busy = recentOps * 1000 > BUSY_OPS_PER_SECOND * Math.max(1, interval.toMillis());
    long dead = Math.max(0, segmentBytes - liveBytes);
    return busy && !alarmed && dead <= Math.max(2 * liveBytes, MIN_DEAD_BYTES_WHILE_BUSY);
  }

  /** Returns the bytes of the segment files that hold no live record. */
  long deadBytes() {
    return Math.max(0, segments.totalBytes() - usage.totalLive());
  }

  /**
   * Gives back, when a handle without a background cleaner (a one-shot command) closes, the space
   * its deletes freed since it opened with {@code deadAtOpen} dead bytes: users should not need to
   * know about cleaning. The work is in proportion to what was freed: only segments mostly dead are
   * rewritten (their live records copied), and the segment being appended to only when it is itself
   * mostly dead, as after deleting the only volume. Returns what it did, or null when nothing was freed.
   */
  CleanerReport reclaimFreed(long deadAtOpen) throws IOException {
    if (!commits.isOpen()) {
      return null;
    }
    commits.flush();
    if (deadBytes() <= deadAtOpen) {
      return null;
    }
    long current = segments.currentId();
    Long currentSize = segments.sizes().get(current);
    long payload = currentSize == null ? 0 : currentSize - SegmentFiles.HEADER_BYTES;
    boolean currentMostlyDead = payload > 0 && (double) usage.live(current) / payload < cleanBelowLiveRatio;
    return clean(cleanBelowLiveRatio, currentMostlyDead);
  }

  /** Stops the background thread and waits for it. */
  void stopBackground() {
    Thread t;
    synchronized (this) {
      stopping = true;
      t = background;
    }
    synchronized (wakeup) {
      wakeup.notifyAll();
    }
    if (t != null) {
      // No interrupt: one landing in file I/O would close the segment's channel under everyone.
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Writes back in logical order the head ranges that reads found fragmented
   * ({@link VolumeWriter#defragmentNoted}), up to {@link #DEFRAGMENT_PER_ROUND} of them; returns
   * how many it rewrote. Not under this cleaner's lock: it writes like a volume write, and a write
   * that finds the store full waits for that lock. Run before cleaning, so that the space the
   * rewrites free in old segments is reclaimed in the same round.
   */
  int defragmentNoted() throws IOException {
    int done = 0;
    for (VolumeState v : volumes.all()) {
      if (stopping || done >= DEFRAGMENT_PER_ROUND) {
        break;
      }
      done += v.writer().defragmentNoted(DEFRAGMENT_PER_ROUND - done);
    }
    return done;
  }

  /** Cleans every segment with any dead space, the current one included: the datastore is full. */
  void reclaimForSpace() throws IOException {
    clean(0.999, true);
  }

  /**
   * Cleans the segments whose live fraction is below {@code belowRatio}, least live first; with
   * {@code includeCurrent} the segment being appended to is sealed and considered too.
   */
  synchronized CleanerReport clean(double belowRatio, boolean includeCurrent) throws IOException {
    commits.flush();
    if (includeCurrent) {
      segments.sealCurrent();
    }
    long current = segments.currentId();
    List<long[]> victims = new ArrayList<>(); // {id, size, live}
    segments.sizes().forEach((id, size) -> {
      if (id == current) {
        return;
      }
      long liveBytes = usage.live(id);
      long payload = Math.max(1, size - SegmentFiles.HEADER_BYTES);
      if ((double) liveBytes / payload < belowRatio) {
        victims.add(new long[] {id, size, liveBytes});
      }
    });
    victims.sort(Comparator.comparingDouble(v -> (double) v[2] / Math.max(1, v[1])));
    // Victims take no more appends, but writers may have filled them since the flush above: this
    // flush commits those records' states, so that evacuate, which lists the committed ones, sees
    // every record the victims hold.
    commits.flush();
    int cleaned = 0;
    long records = 0;
    long moved = 0;
    long reclaimed = 0;
    try {
      for (long[] v : victims) {
        if (stopping && !includeCurrent) {
          break;
        }
        long[] counts = evacuate(v[0]);
        records += counts[0];
        moved += counts[1];
        commits.flush(); // the copies and their map entries are durable before the original goes
        if (!usage.unused(v[0])) {
          // A write appended here before the victims were chosen and entered its record in a map
          // only after evacuate listed the segment's records: the segment waits for a later round.
          continue;
        }
        segments.delete(v[0]);
        forget(v[0]);
        cleaned++;
        reclaimed += v[1];
      }
    } finally {
      // A pass that failed half way still released what it deleted: count that too.
      totals = totals.plus(cleaned, moved, Math.max(0, reclaimed - moved));
    }
    return new CleanerReport(cleaned, records, moved, reclaimed - moved);
  }

  /** Returns what every pass so far did. */
  CleanerStats totals() {
    return totals;
  }

  /** Forgets the statistics of deleted segment {@code id}, durably. */
  private void forget(long id) throws IOException {
    commits.lock().writeLock().lock();
    try {
      usage.forget(id);
      commits.stage(batch -> batch.delete(meta.catalog, Keys.catalog('s', id)));
      commits.flushLocked();
    } finally {
      commits.lock().writeLock().unlock();
    }
    capacity.evaluate();
  }

  /** Copies the live records of segment {@code victim}; returns {records, bytes} copied. */
  private long[] evacuate(long victim) throws IOException {
    List<Map.Entry<RecordKey, RecordState>> liveRecords = new ArrayList<>();
    try (RocksIterator it = meta.iterator(meta.records)) {
      for (it.seek(Keys.pair(victim, 0)); it.isValid() && Keys.first(it.key()) == victim; it.next()) {
        liveRecords.add(Map.entry(new RecordKey(victim, Keys.second(it.key())), RecordState.decode(it.value())));
      }
    }
    long records = 0;
    long bytes = 0;
    for (Map.Entry<RecordKey, RecordState> r : liveRecords) {
      RecordState state = r.getValue();
      VolumeState volume = volumes.byId(state.volume());
      if (volume == null) {
        continue;
      }
      ByteBuffer copy = ByteBuffer.allocate(state.storedBytes());
      segments.read(victim, r.getKey().offset(), copy);
      copy.flip();
      RecordHeader.read(copy, () -> "record at offset " + r.getKey().offset() + " of " + segments.path(victim));
      RecordKey to = usage.appendForCleaner(copy);
      if (volume.moves().relocate(r.getKey(), to, state) > 0) {
        records++;
        bytes += state.storedBytes();
      }
    }
    return new long[] {records, bytes};
  }
}
