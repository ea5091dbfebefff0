package io.vstore.backup.maint;

import io.vstore.backup.store.NoSuchObjectException;
import io.vstore.backup.store.ObjectInfo;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The locks of one repository: no lock is exclusive over the repository, each says who works on it
 * and since when, so that prune and gc run beside backups and gc can tell which backups may still
 * reference what it is about to delete.
 *
 * <p>A lock's holder refreshes it every {@code interval} (a new object, then the old one deleted).
 * Another process treats it as stale — its holder gone — at once when the holder is a process of
 * this host that no longer exists or whose pid now belongs to a process started at another time,
 * and otherwise when it has not been refreshed within twice its interval. Nobody waits half an
 * hour for a crashed backup.
 *
 * <p>A backup must take its lock <em>before</em> it reads the repository's index: gc relies on every
 * process that may reference a chunk listed in an index it has since rewritten holding a lock that
 * started before the rewrite.
 */
public final class RepositoryLocks {
  /** How often a holder refreshes its lock unless told otherwise. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(3);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final ObjectStore store;
  private final ProcessIdentity self;
  private final Clock clock;
  private final Duration interval;

  /** Returns the locks of {@code store}, held and judged as this process, with the default interval. */
  public RepositoryLocks(ObjectStore store) {
    this(store, ProcessIdentity.current(), Clock.systemUTC(), DEFAULT_INTERVAL);
  }

  /** Returns the locks of {@code store} as seen by {@code self}; tests pass other processes and clocks. */
  RepositoryLocks(ObjectStore store, ProcessIdentity self, Clock clock, Duration interval) {
    if (interval.toSeconds() < 1) {
      throw new IllegalArgumentException("lock refresh interval below one second: " + interval);
    }
    this.store = store;
    this.self = self;
    this.clock = clock;
    this.interval = interval;
  }

  /** Returns the store the locks are in. */
  public ObjectStore store() {
    return store;
  }

  /** Returns the identity locks taken here are held by. */
  public ProcessIdentity self() {
    return self;
  }

  /** Returns the clock staleness is judged by. */
  Clock clock() {
    return clock;
  }

  /**
   * Takes a lock of {@code kind}: writes its object and starts refreshing it until it is closed.
   *
   * @param base for a backup, the point it builds on, which prune must keep; else null
   * @param detail what it works on, for people (may be empty)
   */
  public RepositoryLock acquire(LockKind kind, String base, String detail) throws IOException {
    Instant now = clock.instant();
    byte[] sessionBytes = new byte[16];
    RANDOM.nextBytes(sessionBytes);
    String session = HexFormat.of().formatHex(sessionBytes);
    LockRecord first = new LockRecord(LockRecord.keyOf(session, 0), session, 0, kind, self, now, now, interval, base,
        detail);
    if (!store.putIfAbsent(first.key(), first.toBytes())) {
      throw new IOException(store + ": lock " + first.key() + " exists already (random session id reused?)");
    }
    return new RepositoryLock(this, first);
  }

  /**
   * Takes a lock of {@code kind} that no other live lock of the same kind may share (gc): takes it,
   * then looks for another; if there is one, releases its own and fails naming the other. Two
   * processes racing both see each other and both fail, which is safe.
   *
   * @throws LockConflictException naming the other holder
   */
  public RepositoryLock acquireAlone(LockKind kind, String detail) throws IOException {
    RepositoryLock mine = acquire(kind, null, detail);
    boolean ok = false;
    try {
      for (LockStatus s : list()) {
        LockRecord other = s.lock();
        if (!s.stale() && other.kind() == kind && !other.session().equals(mine.session())) {
          throw new LockConflictException(store + ": another " + other.describe() + " is running; try again when it"
              + " has finished (a lock whose holder is gone is ignored: "
              + (other.holder().hostId().equals(self.hostId()) ? "this one's process is alive)"
                  : "this one was refreshed at " + other.refreshed() + ")"));
        }
      }
      ok = true;
      return mine;
    } finally {
      if (!ok) {
        mine.close();
      }
    }
  }

  /**
   * Returns every lock of the repository, one per session (the newest object of a lock being
   * refreshed), each judged live or stale. An unreadable lock object counts as a live backup lock
   * started when the store wrote it, until twice the default interval has passed: gc must not take
   * a damaged lock for an absent one.
   */
  public List<LockStatus> list() throws IOException {
    List<ObjectInfo> objects = new ArrayList<>();
    store.list(LockRecord.PREFIX, objects::add);
    Map<String, LockStatus> bySession = new HashMap<>();
    Instant now = clock.instant();
    for (ObjectInfo info : objects) {
      LockRecord r;
      byte[] bytes;
      try {
        bytes = store.get(info.key());
      } catch (NoSuchObjectException e) {
        continue; // released or refreshed while we listed
      }
      try {
        r = LockRecord.read(store, info.key(), bytes);
      } catch (CorruptMaintenanceObjectException e) {
        r = new LockRecord(info.key(), info.key(), 0, LockKind.BACKUP, new ProcessIdentity("?", "unknown", -1, -1),
            info.modified(), info.modified(), DEFAULT_INTERVAL, null, "unreadable: " + e.getMessage());
      }
      LockStatus s = judge(r, info.modified(), now);
      LockStatus prev = bySession.get(r.session());
      if (prev == null || prev.lock().seq() < r.seq()) {
        bySession.put(r.session(), s);
      }
    }
    return new ArrayList<>(bySession.values());
  }

  /** Returns the locks that still count. */
  public List<LockRecord> live() throws IOException {
    List<LockRecord> out = new ArrayList<>();
    for (LockStatus s : list()) {
      if (!s.stale()) {
        out.add(s.lock());
      }
    }
    return out;
  }

  /** Deletes the objects of stale locks; returns how many locks it removed. */
  public int removeStale() throws IOException {
    int n = 0;
    for (LockStatus s : list()) {
      if (s.stale()) {
        store.delete(s.lock().key());
        n++;
      }
    }
    return n;
  }

  private LockStatus judge(LockRecord r, Instant storedAt, Instant now) {
    if (r.holder().hostId().equals(self.hostId())) {
      if (r.holder().pid() == self.pid() && r.holder().processStart() == self.processStart()) {
        return new LockStatus(r, false, "");
      }
      if (!r.holder().isAliveHere()) {
        return new LockStatus(r, true, "process " + r.holder().pid() + " of this host has ended");
      }
      return new LockStatus(r, false, "");
    }
    // Another host: trust the later of its own clock and the store's, so a skewed clock on either
    // side does not make a live lock look old.
    Instant last = r.refreshed().isAfter(storedAt) ? r.refreshed() : storedAt;
    Duration age = Duration.between(last, now);
    if (age.compareTo(r.interval().multipliedBy(2)) > 0) {
      return new LockStatus(r, true, "not refreshed for " + age.toSeconds() + " s (interval "
          + r.interval().toSeconds() + " s)");
    }
    return new LockStatus(r, false, "");
  }

  /** Returns a fresh random hex id of 16 bytes, for objects named by maintenance. */
  static String randomId() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
