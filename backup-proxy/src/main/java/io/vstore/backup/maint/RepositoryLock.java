package io.vstore.backup.maint;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;

/**
 * A lock this process holds (see {@link RepositoryLocks}). A virtual thread refreshes it every
 * interval until {@link #close()}, which deletes it. Long operations call {@link #ensureHeld()}
 * before a step that relies on it (a backup before it commits): a lock whose refresh has been
 * failing may already look stale to other hosts, and then gc may have deleted what it protects.
 */
public final class RepositoryLock implements Closeable {
  private final RepositoryLocks locks;
  private final Thread refresher;
  private final Object monitor = new Object();

  // Guarded by monitor: the refresher and close() both replace the current object.
  private LockRecord current;
  private Instant lastRefresh;
  private IOException lastFailure;
  private boolean closed;

  RepositoryLock(RepositoryLocks locks, LockRecord first) {
    this.locks = locks;
    this.current = first;
    this.lastRefresh = first.refreshed();
    this.refresher = Thread.ofVirtual().name("lock-refresh-" + first.session()).start(this::refreshLoop);
  }

  /** Returns the lock's session id. */
  public String session() {
    return current().session();
  }

  /** Returns the lock as last written. */
  public LockRecord current() {
    synchronized (monitor) {
      return current;
    }
  }

  /** Returns when the lock was taken. */
  public Instant started() {
    return current().started();
  }

  /** Writes the next object of the lock now and deletes the previous one. */
  public void refresh() throws IOException {
    replace(null);
  }

  /**
   * Names the point a backup builds on, so that prune keeps it while the backup runs: a backup
   * takes its lock before it opens the repository, and learns its base only then.
   */
  public void nameBase(String basePoint) throws IOException {
    replace(java.util.Objects.requireNonNull(basePoint, "basePoint"));
  }

  private void replace(String base) throws IOException {
    synchronized (monitor) {
      if (closed) {
        throw new IllegalStateException("lock " + current.key() + " is released");
      }
      Instant now = locks.clock().instant();
      LockRecord next = base == null ? current.refreshedAt(now) : current.withBaseAt(base, now);
      if (!locks.store().putIfAbsent(next.key(), next.toBytes())) {
        throw new IOException(locks.store() + ": lock object " + next.key() + " exists already");
      }
      LockRecord old = current;
      current = next;
      lastRefresh = next.refreshed();
      lastFailure = null;
      // A crash here leaves two objects of one session; readers take the newer.
      locks.store().delete(old.key());
    }
  }

  /**
   * Fails if the lock has not been refreshed for more than one and a half intervals: from twice the
   * interval on, other hosts may take it for stale.
   */
  public void ensureHeld() throws IOException {
    synchronized (monitor) {
      if (closed) {
        throw new IllegalStateException("lock " + current.key() + " is released");
      }
      Duration since = Duration.between(lastRefresh, locks.clock().instant());
      if (since.compareTo(current.interval().multipliedBy(3).dividedBy(2)) > 0) {
        IOException e = new IOException(locks.store() + ": " + current.describe() + " could not be refreshed for "
            + since.toSeconds() + " s; other hosts may take it for stale, so this operation stops"
            + (lastFailure == null ? "" : " (last error: " + lastFailure.getMessage() + ")"));
        if (lastFailure != null) {
          e.addSuppressed(lastFailure);
        }
        throw e;
      }
    }
  }

  /** Stops refreshing and deletes the lock; idempotent. */
  @Override
  public void close() throws IOException {
    String key;
    synchronized (monitor) {
      if (closed) {
        return;
      }
      closed = true;
      key = current.key();
    }
    refresher.interrupt();
    locks.store().delete(key);
  }

  private void refreshLoop() {
    Duration interval = current().interval();
    Duration wait = interval;
    while (true) {
      try {
        Thread.sleep(wait);
      } catch (InterruptedException e) {
        return;
      }
      try {
        synchronized (monitor) {
          if (closed) {
            return;
          }
        }
        refresh();
        wait = interval;
      } catch (IOException e) {
        synchronized (monitor) {
          lastFailure = e;
        }
        // Retry sooner: the lock must be refreshed before twice the interval has passed.
        wait = interval.dividedBy(4);
      } catch (IllegalStateException e) {
        return; // closed between the check and the refresh
      }
    }
  }

  @Override
  public String toString() {
    return current().describe();
  }
}
