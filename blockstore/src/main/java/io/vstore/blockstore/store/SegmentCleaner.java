package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.rocksdb.RocksIterator;

/**
 * Reclaims dead space, log-structured style: copies the live records of mostly-dead segments to
 * the end of the log, commits the new locations, and only then deletes the old segment. A crash
 * at any point leaves either the old or the new location referenced, never neither.
 */
final class SegmentCleaner {
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore.cleaner");
  private final Datastore store;
  private Thread background; // guarded by this
  private volatile boolean stopping;
  /** Where the background thread waits between rounds; stopping wakes it. */
  private final Object wakeup = new Object();

  SegmentCleaner(Datastore store) {
    this.store = store;
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
            LOG.log(System.Logger.Level.DEBUG, "{0} is busy and its dead space within bounds: cleaning waits", store);
          } else if (!stopping) {
            CleanerReport r = clean(store.options().cleanBelowLiveRatio(), false);
            if (r.segmentsCleaned() > 0) {
              LOG.log(System.Logger.Level.INFO, "cleaned {0} segments of {1}, reclaimed {2} bytes",
                  r.segmentsCleaned(), store, r.bytesReclaimed());
            }
          }
        } catch (InterruptedException e) {
          return;
        } catch (IOException | RuntimeException e) {
          if (!stopping) {
            LOG.log(System.Logger.Level.ERROR, "background cleaning of " + store + " failed", e);
          }
        }
      }
    });
  }

  /** Foreground operations per second above which the datastore counts as busy. */
  static final long BUSY_OPS_PER_SECOND = 100;
  /** Dead space the cleaner lets a busy datastore keep: this much at least, or twice the live data. */
  static final long MIN_DEAD_BYTES_WHILE_BUSY = 1L << 30;
  private long opsAtLastRound; // background thread only

  /**
   * Returns whether this background round should let busy volumes go first. Cleaning copies live
   * data and competes for the disk and the CPU: run while guests are busy, it took a third of a
   * random-read workload's throughput (measured over NBD). So while volumes are busy, and dead
   * space stays within bounds and no capacity alarm is raised, it waits for a quieter round.
   */
  private boolean yieldsToForeground(Duration interval) {
    long ops = store.foregroundOps();
    long recent = ops - opsAtLastRound;
    opsAtLastRound = ops;
    long live = 0;
    for (AtomicLong l : store.segmentLiveBytes().values()) {
      live += l.get();
    }
    return yields(recent, interval, store.segments().totalBytes(), live, store.capacityAlarmed());
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

  /** Cleans every segment with any dead space, the current one included: the datastore is full. */
  void reclaimForSpace() throws IOException {
    clean(0.999, true);
  }

  /**
   * Cleans the segments whose live fraction is below {@code belowRatio}, least live first; with
   * {@code includeCurrent} the segment being appended to is sealed and considered too.
   */
  synchronized CleanerReport clean(double belowRatio, boolean includeCurrent) throws IOException {
    store.flush();
    SegmentFiles segments = store.segments();
    if (includeCurrent) {
      segments.sealCurrent();
    }
    long current = segments.currentId();
    Map<Long, AtomicLong> live = store.segmentLiveBytes();
    List<long[]> victims = new ArrayList<>(); // {id, size, live}
    segments.sizes().forEach((id, size) -> {
      if (id == current) {
        return;
      }
      AtomicLong l = live.get(id);
      long liveBytes = l == null ? 0 : l.get();
      long payload = Math.max(1, size - SegmentFiles.HEADER_BYTES);
      if ((double) liveBytes / payload < belowRatio) {
        victims.add(new long[] {id, size, liveBytes});
      }
    });
    victims.sort(Comparator.comparingDouble(v -> (double) v[2] / Math.max(1, v[1])));
    // Victims take no more appends, but writers may have filled them since the flush above: this
    // flush commits those records' states, so that evacuate, which lists the committed ones, sees
    // every record the victims hold.
    store.flush();
    int cleaned = 0;
    long records = 0;
    long moved = 0;
    long reclaimed = 0;
    for (long[] v : victims) {
      if (stopping && !includeCurrent) {
        break;
      }
      long[] counts = evacuate(v[0]);
      records += counts[0];
      moved += counts[1];
      store.flush(); // the copies and their map entries are durable before the original goes
      if (!store.segmentUnused(v[0])) {
        // A write appended here before the victims were chosen and entered its record in a map
        // only after evacuate listed the segment's records: the segment waits for a later round.
        continue;
      }
      segments.delete(v[0]);
      store.forgetSegment(v[0]);
      cleaned++;
      reclaimed += v[1];
    }
    return new CleanerReport(cleaned, records, moved, reclaimed - moved);
  }

  /** Copies the live records of segment {@code victim}; returns {records, bytes} copied. */
  private long[] evacuate(long victim) throws IOException {
    List<Map.Entry<RecordKey, RecordState>> liveRecords = new ArrayList<>();
    MetaStore meta = store.meta();
    try (RocksIterator it = meta.iterator(meta.records)) {
      for (it.seek(Keys.pair(victim, 0)); it.isValid() && Keys.first(it.key()) == victim; it.next()) {
        liveRecords.add(Map.entry(new RecordKey(victim, Keys.second(it.key())), RecordState.decode(it.value())));
      }
    }
    long records = 0;
    long bytes = 0;
    for (Map.Entry<RecordKey, RecordState> r : liveRecords) {
      RecordState state = r.getValue();
      VolumeState volume = store.stateById(state.volume());
      if (volume == null) {
        continue;
      }
      ByteBuffer copy = ByteBuffer.allocate(state.storedBytes());
      store.segments().read(victim, r.getKey().offset(), copy);
      copy.flip();
      RecordHeader.read(copy, () -> "record at offset " + r.getKey().offset() + " of " + store.segments().path(victim));
      RecordKey to = store.appendForCleaner(copy);
      if (volume.relocate(r.getKey(), to, state) > 0) {
        records++;
        bytes += state.storedBytes();
      }
    }
    return new long[] {records, bytes};
  }
}
