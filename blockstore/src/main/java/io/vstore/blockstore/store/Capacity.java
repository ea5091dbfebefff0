package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.OutOfSpaceException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The datastore's capacity: the limit, the admission of new allocations against it, and the
 * alarms raised when usage crosses the warning and critical thresholds.
 *
 * <p>New data is refused once usage would pass the limit less a reserve kept for the cleaner,
 * which needs room to copy live records before it can delete a segment.
 */
final class Capacity {
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore.capacity");
  private static final long FREE_SPACE_CACHE_NANOS = 1_000_000_000L;

  private final Path dir;
  private final SegmentFiles segments;
  private final long segmentBytes;
  private volatile DatastoreDescriptor descriptor;
  private volatile long cachedUsable = -1;
  private volatile long cachedAt;
  @GuardedBy("this")
  private final List<Alarm> alarms = new ArrayList<>();
  /** The alarm level raised, or null when usage is normal. */
  @GuardedBy("this")
  private Alarm.Level level;
  /** Whether an evaluation ran already: the first one only finds the level the datastore had. */
  @GuardedBy("this")
  private boolean evaluatedOnce;

  /** Creates the capacity of the datastore in {@code dir}, whose segments are {@code segments}. */
  Capacity(Path dir, DatastoreDescriptor descriptor, SegmentFiles segments, long segmentBytes) {
    this.dir = dir;
    this.descriptor = descriptor;
    this.segments = segments;
    this.segmentBytes = segmentBytes;
  }

  /** Returns the descriptor holding the limit and thresholds. */
  DatastoreDescriptor descriptor() {
    return descriptor;
  }

  /**
   * Sets the limit (0: the file system's free space) and the alarm thresholds in percent, durably
   * (the descriptor is replaced atomically), and re-evaluates the alarms.
   */
  void configure(long bytes, int warningPercent, int criticalPercent) throws IOException {
    if (bytes < 0 || warningPercent <= 0 || criticalPercent <= warningPercent || criticalPercent > 100) {
      throw new IllegalArgumentException("bad capacity settings: " + bytes + " bytes, warning " + warningPercent
          + "%, critical " + criticalPercent + "% (need 0 < warning < critical <= 100)");
    }
    DatastoreDescriptor d = descriptor.withCapacity(bytes, warningPercent, criticalPercent);
    d.write(dir);
    descriptor = d;
    evaluate();
  }

  /** Returns the capacity limit: the configured one, or what is used plus the free space. */
  long limit() {
    long configured = descriptor.capacity();
    return configured > 0 ? configured : segments.totalBytes() + usableSpace();
  }

  private long usableSpace() {
    long now = System.nanoTime();
    if (cachedUsable < 0 || now - cachedAt > FREE_SPACE_CACHE_NANOS) {
      try {
        cachedUsable = Files.getFileStore(dir).getUsableSpace();
      } catch (IOException e) {
        cachedUsable = 0;
      }
      cachedAt = now;
    }
    return cachedUsable;
  }

  /** Returns the space kept back from users so that the cleaner can always make progress. */
  long reserve() {
    return Math.min(segmentBytes / 2, limit() / 20);
  }

  /** Returns whether {@code bytes} more may be allocated (by the cleaner, the reserve too). */
  boolean fits(long bytes, boolean forCleaner) {
    long limit = limit() - (forCleaner ? 0 : reserve());
    return segments.totalBytes() + bytes <= limit;
  }

  /** Returns the error a refused allocation of {@code bytes} gets. */
  OutOfSpaceException full(long bytes) {
    synchronized (this) {
      if (level != Alarm.Level.CRITICAL) {
        level = Alarm.Level.CRITICAL;
        alarms.clear();
        String message = "datastore is full: an allocation of " + bytes + " bytes was refused";
        alarms.add(new Alarm(Alarm.Level.CRITICAL, message, Instant.now().toString()));
        LOG.log(System.Logger.Level.ERROR, "datastore {0}: {1}", dir, message);
      }
    }
    return new OutOfSpaceException("datastore " + dir + " is full: " + segments.totalBytes() + " bytes used of capacity "
        + limit() + " (reserve " + reserve() + "), cannot allocate " + bytes
        + " more; " + remedies());
  }

  /**
   * Returns what the user can do about a full datastore: free space by deleting what holds it (the
   * space comes back when the command ends), or raise the limit, which only a configured limit
   * allows; a limit set by the file system's free space needs room made on the file system.
   */
  private String remedies() {
    String free = "free space with 'vstore volume delete', 'vstore snapshot delete' or 'vstore vm delete'";
    if (descriptor.capacity() > 0) {
      return free + ", or raise the capacity with 'vstore datastore set --capacity SIZE'";
    }
    return free + ", or make room on the file system holding " + dir;
  }

  private volatile long evaluatedAt = -1;

  /**
   * Recomputes the alarms when usage moved by more than 1/1000 of the limit since the last time:
   * the write path calls this on every allocation and must not contend on the lock.
   */
  void evaluateIfMoved() {
    long used = segments.totalBytes();
    if (Math.abs(used - evaluatedAt) * 1000 >= Math.max(1, limit())) {
      evaluate();
    }
  }

  /** Recomputes the alarm level, raising or clearing alarms and logging every change. */
  synchronized void evaluate() {
    evaluatedAt = segments.totalBytes();
    long limit = Math.max(1, limit());
    double percent = 100.0 * segments.totalBytes() / limit;
    Alarm.Level now = percent >= descriptor.criticalPercent() ? Alarm.Level.CRITICAL
        : percent >= descriptor.warningPercent() ? Alarm.Level.WARNING : null;
    // The first evaluation finds the level a datastore already had: every command opening it would
    // repeat the same alarm, so only changes seen by this process are logged above DEBUG.
    boolean first = !evaluatedOnce;
    evaluatedOnce = true;
    if (now == level) {
      return;
    }
    level = now;
    alarms.clear();
    if (now == null) {
      LOG.log(first ? System.Logger.Level.DEBUG : System.Logger.Level.INFO, "datastore {0}: usage back to {1}%, alarms cleared", dir, Math.round(percent));
      return;
    }
    int threshold = now == Alarm.Level.CRITICAL ? descriptor.criticalPercent() : descriptor.warningPercent();
    String message = String.format("usage %.1f%% of capacity %d bytes is at or above the %s threshold of %d%%", percent,
        limit, now.name().toLowerCase(java.util.Locale.ROOT), threshold);
    alarms.add(new Alarm(now, message, Instant.now().toString()));
    LOG.log(first ? System.Logger.Level.DEBUG
        : now == Alarm.Level.CRITICAL ? System.Logger.Level.ERROR : System.Logger.Level.WARNING,
        "datastore {0}: {1}", dir, message);
  }

  /** Returns whether usage is at the warning level or above. */
  synchronized boolean alarmed() {
    return level != null;
  }

  /** Returns the alarms currently raised. */
  synchronized List<Alarm> alarms() {
    return List.copyOf(alarms);
  }
}
