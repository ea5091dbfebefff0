package io.vstore.blockstore.store;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An open snapshot: its catalog entry and its delta map, which holds the entries that left the
 * volume's head while this was the newest snapshot and that it can see. Guarded by the owning
 * volume's lock.
 */
final class SnapshotState {
  final SnapshotRecord record;
  final BlockMap delta;
  /** Set when the snapshot is deleted; handles on it then refuse every call. */
  volatile boolean deleted;
  /**
   * The linked clones of this snapshot, kept as they are linked, flattened and deleted so that
   * naming them does not scan every volume of the datastore (a snapshot's figures name them).
   */
  final Set<VolumeState> clones = ConcurrentHashMap.newKeySet();

  SnapshotState(SnapshotRecord record, MetaStore meta) {
    this.record = record;
    this.delta = new BlockMap(record.id(), meta);
  }

  long generation() {
    return record.generation();
  }

  String name() {
    return record.name();
  }

  @Override
  public String toString() {
    return "snapshot " + record.name();
  }
}
