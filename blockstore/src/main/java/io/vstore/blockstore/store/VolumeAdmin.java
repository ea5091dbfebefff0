package io.vstore.blockstore.store;

import io.vstore.blockstore.SnapshotRef;
import java.io.IOException;

/** The changes to a volume's identity and size: resize and rename, each durable on return. */
final class VolumeAdmin {
  private final Datastore store;
  private final CommitPipeline commits;
  private final VolumeCatalog volumes;
  private final Capacity capacity;

  VolumeAdmin(Datastore store, CommitPipeline commits, VolumeCatalog volumes, Capacity capacity) {
    this.store = store;
    this.commits = commits;
    this.volumes = volumes;
    this.capacity = capacity;
  }

  /** See {@link Datastore#resizeVolume}. */
  void resize(String name, long newSize, boolean allowShrink) throws IOException {
    Datastore.checkSize(newSize);
    long oldSize = checkResizable(name, newSize, allowShrink);
    if (newSize < oldSize) {
      try (Volume v = store.volume(name)) {
        v.discard(newSize, oldSize - newSize);
        v.flush();
      }
    }
    commits.lock().writeLock().lock();
    try {
      checkResizable(name, newSize, allowShrink); // a snapshot may have been taken meanwhile
      volumes.get(name).resize(newSize);
      commits.flushLocked();
    } finally {
      commits.lock().writeLock().unlock();
    }
    capacity.evaluate();
  }

  /** Returns volume {@code name}'s size after checking that it may be resized to {@code newSize}. */
  private long checkResizable(String name, long newSize, boolean allowShrink) throws IOException {
    store.checkOpen();
    VolumeState v = volumes.get(name);
    if (!v.snapshots().isEmpty()) {
      throw new IllegalStateException("cannot resize volume " + name + ": its snapshots "
          + String.join(", ", v.snapshots().stream().map(s -> name + "@" + s.name()).toList())
          + " share its size (delete them first)");
    }
    if (newSize < v.size && !allowShrink) {
      throw new IllegalArgumentException("cannot shrink volume " + name + " from " + v.size + " to " + newSize
          + " bytes without allowing it: the data past the new end is lost");
    }
    return v.size;
  }

  /** See {@link Datastore#renameVolume}. */
  void rename(String from, String to) throws IOException {
    SnapshotRef.checkName("volume", to);
    commits.lock().writeLock().lock();
    try {
      store.checkOpen();
      VolumeState v = volumes.get(from);
      if (from.equals(to)) {
        return;
      }
      if (volumes.contains(to)) {
        throw new DatastoreException("cannot rename volume " + from + ": volume " + to + " already exists in "
            + store.path());
      }
      v.rename(to);
      volumes.rename(from, to);
      commits.flushLocked();
    } finally {
      commits.lock().writeLock().unlock();
    }
  }
}
