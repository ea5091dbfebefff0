package io.vstore.blockstore.store;

import io.vstore.blockstore.SnapshotRef;
import java.io.IOException;
import java.time.Instant;
import java.util.UUID;

/** The changes to a volume's existence, identity and size: create, resize and rename, each durable on return. */
final class VolumeAdmin {
  private final Datastore store;
  private final StoreParts parts;
  private final CommitPipeline commits;
  private final VolumeCatalog volumes;
  private final Capacity capacity;

  VolumeAdmin(Datastore store, StoreParts parts) {
    this.store = store;
    this.parts = parts;
    this.commits = parts.commits();
    this.volumes = parts.volumes();
    this.capacity = parts.capacity();
  }

  /** Throws unless {@code size} is a valid volume size: a positive multiple of 512, at most 64 TiB. */
  static void checkSize(long size) {
    if (size <= 0 || size % 512 != 0) {
      throw new IllegalArgumentException("volume size " + size + " must be a positive multiple of 512 bytes");
    }
    if (size > Datastore.MAX_VOLUME_SIZE) {
      throw new IllegalArgumentException("volume size " + size + " is larger than the maximum "
          + Datastore.MAX_VOLUME_SIZE + " (64 TiB)");
    }
  }

  /** See {@link Datastore#createVolume}. */
  Volume create(String name, long size) throws IOException {
    SnapshotRef.checkName("volume", name);
    checkSize(size);
    commits.lock().writeLock().lock();
    try {
      store.checkOpen();
      if (volumes.contains(name)) {
        throw new DatastoreException("volume " + name + " already exists in " + store.path());
      }
      VolumeRecord r = new VolumeRecord(commits.newId(), name, UUID.randomUUID().toString(), size,
          Instant.now().toString(), 0, 0, 0, 0, 0, 0, null);
      commits.stage(batch -> batch.put(parts.meta().catalog, Keys.catalog('v', r.id()), r.encode()));
      commits.flushLocked();
      VolumeState state = new VolumeState(parts, r);
      volumes.add(state);
      return new Volume(store, state, null, false);
    } finally {
      commits.lock().writeLock().unlock();
    }
  }

  /** See {@link Datastore#resizeVolume}. */
  void resize(String name, long newSize, boolean allowShrink) throws IOException {
    checkSize(newSize);
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
