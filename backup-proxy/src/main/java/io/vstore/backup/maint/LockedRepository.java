package io.vstore.backup.maint;

import io.vstore.backup.repo.KeySource;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.store.ObjectStore;
import java.io.Closeable;
import java.io.IOException;

/**
 * A repository opened under a lock taken first, the order gc relies on: a backup, restore or sync
 * that uses chunks must hold its lock from before the repository's index is loaded until it is done.
 * Closing closes the repository, then releases the lock (not the store, which the caller opened).
 *
 * @param repo the open repository
 * @param lock the lock held while it is open
 */
public record LockedRepository(Repository repo, RepositoryLock lock) implements Closeable {

  /**
   * Takes a lock of {@code kind} on {@code store}, then opens the repository in it.
   *
   * @param detail what the holder works on (a source, a point), for people and gc's notes
   */
  public static LockedRepository open(ObjectStore store, KeySource key, LockKind kind, String detail)
      throws IOException {
    RepositoryLock lock = new RepositoryLocks(store).acquire(kind, null, detail);
    boolean ok = false;
    try {
      LockedRepository r = new LockedRepository(Repository.open(store, key), lock);
      ok = true;
      return r;
    } finally {
      if (!ok) {
        lock.close();
      }
    }
  }

  @Override
  public void close() throws IOException {
    try {
      repo.close();
    } finally {
      lock.close();
    }
  }
}
