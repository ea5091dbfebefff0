package io.vstore.server.api;

import io.vstore.server.ManagedDatastore;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Makes the API's "refuse to delete a volume that has snapshots" check hold until the delete:
 * {@code Datastore.deleteVolume} drops snapshots silently, so the route checks first, and a
 * snapshot taken through the API between the check and the delete would be lost. Snapshot
 * creations share the lock (they run concurrently); a volume delete takes it alone.
 */
final class SnapshotGuard {
  private final Map<String, ReadWriteLock> locks = new ConcurrentHashMap<>();

  /** Returns the lock of {@code ds}: read for taking snapshots, write for deleting a volume. */
  ReadWriteLock of(ManagedDatastore ds) {
    return locks.computeIfAbsent(ds.name(), n -> new ReentrantReadWriteLock());
  }
}
