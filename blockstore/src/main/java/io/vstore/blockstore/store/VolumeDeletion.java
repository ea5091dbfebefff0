package io.vstore.blockstore.store;

import io.vstore.blockstore.IoObserver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Deletes volumes, one or many in one commit: a pool refresh resets a thousand desktops, and a
 * commit each (two fsyncs) would cost seconds. The whole list is checked before anything changes,
 * and the deletions reach the disk in one RocksDB batch, so a refusal or a crash leaves all of
 * them or none.
 */
final class VolumeDeletion {
  private final Datastore store;
  private final StoreParts parts;
  private final CommitPipeline commits;
  private final VolumeCatalog volumes;
  private final Snapshots snapshots;
  private final Capacity capacity;

  VolumeDeletion(Datastore store, StoreParts parts, Snapshots snapshots) {
    this.store = store;
    this.parts = parts;
    this.commits = parts.commits();
    this.volumes = parts.volumes();
    this.snapshots = snapshots;
    this.capacity = parts.capacity();
  }

  /** Deletes volumes {@code names} in one commit; see {@link Datastore#deleteVolumes}. */
  void delete(List<String> names, boolean recursive, DeletionGuard guard) throws IOException {
    Set<String> batch = new HashSet<>();
    for (String name : names) {
      if (name == null || !batch.add(name)) {
        throw new IllegalArgumentException("cannot delete volumes " + names + ": " + name
            + (name == null ? " is not a volume name" : " is named twice"));
      }
    }
    if (names.isEmpty()) {
      return;
    }
    for (String name : names) {
      guard.check(name, null);
    }
    commits.lock().writeLock().lock();
    try {
      store.checkOpen();
      Map<String, VolumeState> doomed = new LinkedHashMap<>();
      for (String name : names) {
        doomed.put(name, volumes.get(name));
      }
      for (VolumeState v : doomed.values()) {
        checkDeletable(v, recursive, batch);
      }
      // VolumeState.delete wants the volumes' earlier changes committed: it releases the records
      // its committed maps reference.
      commits.flushLocked();
      List<String> gone = new ArrayList<>();
      try {
        for (Map.Entry<String, VolumeState> e : doomed.entrySet()) {
          e.getValue().delete();
          ChangePins.stageDeleteAll(parts, e.getValue().id);
          gone.add(e.getKey());
        }
      } finally {
        // A volume whose deletion was staged is gone from the next flush's view: the catalog
        // must agree, even when a later one of the list failed (which only an I/O error can do).
        gone.forEach(volumes::remove);
      }
      commits.flushLocked();
    } finally {
      commits.lock().writeLock().unlock();
    }
    capacity.evaluate();
    IoObserver o = store.ioObserver();
    if (o != null) {
      names.forEach(o::volumeDeleted);
    }
  }

  /**
   * Throws unless {@code v} may go: without {@code recursive} it must have no snapshots, and no
   * snapshot of it may have a linked clone outside {@code batch}.
   */
  private void checkDeletable(VolumeState v, boolean recursive, Set<String> batch) throws IOException {
    String name = v.name;
    if (!recursive && !v.snapshots().isEmpty()) {
      List<String> snaps = v.snapshots().stream().map(snap -> name + "@" + snap.name()).toList();
      throw new IllegalStateException("cannot delete volume " + name + ": it has " + snaps.size()
          + (snaps.size() == 1 ? " snapshot " : " snapshots ") + String.join(", ", snaps)
          + " (delete them first, or delete the volume recursively: -r, recursive=true)");
    }
    for (SnapshotState snap : v.snapshots()) {
      List<String> clones = snapshots.clonesOf(snap).stream().filter(c -> !batch.contains(c)).toList();
      if (!clones.isEmpty()) {
        throw new DatastoreException("cannot delete volume " + name + ": snapshot " + name + "@" + snap.name()
            + " has linked clones " + String.join(", ", clones) + " (flatten or delete them first)");
      }
    }
  }
}
