package io.vstore.blockstore.store;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.SnapshotRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The copy-on-write operations on volumes: snapshot (one volume or a consistency group), delete,
 * revert, linked clone and flatten. Each holds the datastore's commit lock exclusively, flushes,
 * changes the maps and commits catalog and maps in one batch, so a crash leaves the before or the
 * after state, never a mix.
 */
final class Snapshots {
  private final Datastore store;
  private final StoreParts parts;
  private final CommitPipeline commits;
  private final VolumeCatalog volumes;
  private final MetaStore meta;

  /** Creates the snapshot operations of {@code store}, whose parts are {@code parts}. */
  Snapshots(Datastore store, StoreParts parts) {
    this.store = store;
    this.parts = parts;
    this.commits = parts.commits();
    this.volumes = parts.volumes();
    this.meta = parts.meta();
  }

  /** Returns snapshot {@code name} of {@code v}, or throws naming it. */
  SnapshotState find(VolumeState v, String name) throws DatastoreException {
    v.lock.readLock().lock();
    try {
      SnapshotState s = v.snapshot(name);
      if (s == null) {
        throw new DatastoreException("no snapshot " + v.name + "@" + name + " in datastore " + parts.dir());
      }
      return s;
    } finally {
      v.lock.readLock().unlock();
    }
  }

  /** Returns the names of the linked clones of {@code s}. */
  List<String> clonesOf(SnapshotState s) {
    List<String> out = new ArrayList<>();
    for (VolumeState v : s.clones) {
      if (!v.isDeleted()) {
        out.add(v.name);
      }
    }
    out.sort(null);
    return out;
  }

  /** Snapshots every volume of {@code group} (volume name to snapshot name) at one instant. */
  List<SnapshotInfo> create(Map<String, String> group) throws IOException {
    List<SnapshotInfo> out = new ArrayList<>();
    Map<VolumeState, SnapshotState> made = new LinkedHashMap<>();
    commits.lock().writeLock().lock();
    try {
      for (Map.Entry<String, String> e : group.entrySet()) {
        SnapshotRef.checkName("snapshot", e.getValue());
        VolumeState v = volumes.get(e.getKey());
        if (v.snapshot(e.getValue()) != null) {
          throw new DatastoreException("snapshot " + v.name + "@" + e.getValue() + " already exists");
        }
      }
      // Every write that completed before this point is in the flush; none can start until we
      // release the commit lock, so all volumes of the group are captured at the same instant.
      commits.flushLocked();
      for (Map.Entry<String, String> e : group.entrySet()) {
        VolumeState v = volumes.get(e.getKey());
        SnapshotRecord r = new SnapshotRecord(commits.newId(), v.id, e.getValue(), v.committedGeneration(),
            Instant.now().toString());
        commits.stage(batch -> batch.put(meta.catalog, Keys.catalog('n', r.id()), r.encode()));
        SnapshotState s = new SnapshotState(r, meta);
        v.addSnapshot(s);
        made.put(v, s);
      }
      commits.flushLocked();
    } finally {
      commits.lock().writeLock().unlock();
    }
    for (Map.Entry<VolumeState, SnapshotState> e : made.entrySet()) {
      out.add(info(e.getKey(), e.getValue()));
    }
    return out;
  }

  /** Returns the figures of snapshot {@code s} of {@code v}. */
  SnapshotInfo info(VolumeState v, SnapshotState s) {
    long[] space = v.view(s).space();
    return new SnapshotInfo(v.name, s.name(), ChangeTracking.changeId(v, s), s.record.created(), space[0], space[1],
        space[2], clonesOf(s));
  }

  /** Returns volume {@code volume}'s snapshots, oldest first, with their figures. */
  List<SnapshotInfo> list(String volume) throws IOException {
    VolumeState v = volumes.get(volume);
    // Held across the figures: a snapshot deleted between the listing and its figures would no
    // longer be in the list its space is computed against.
    v.lock.readLock().lock();
    try {
      List<SnapshotInfo> out = new ArrayList<>();
      for (SnapshotState s : List.copyOf(v.snapshots())) {
        out.add(info(v, s));
      }
      return out;
    } finally {
      v.lock.readLock().unlock();
    }
  }

  /** Returns every volume's snapshots, by volume name; no volume or snapshot is deleted meanwhile. */
  List<SnapshotInfo> listAll() {
    commits.lock().readLock().lock();
    try {
      List<VolumeState> all = new ArrayList<>(volumes.all());
      all.sort(java.util.Comparator.comparing(v -> v.name));
      List<SnapshotInfo> out = new ArrayList<>();
      for (VolumeState v : all) {
        v.lock.readLock().lock();
        try {
          for (SnapshotState s : List.copyOf(v.snapshots())) {
            out.add(info(v, s));
          }
        } finally {
          v.lock.readLock().unlock();
        }
      }
      return out;
    } finally {
      commits.lock().readLock().unlock();
    }
  }

  /** Deletes a snapshot; refused while it has linked clones. */
  void delete(String volume, String name) throws IOException {
    commits.lock().writeLock().lock();
    try {
      VolumeState v = volumes.get(volume);
      SnapshotState s = find(v, name);
      List<String> clones = clonesOf(s);
      if (!clones.isEmpty()) {
        throw new DatastoreException("cannot delete snapshot " + volume + "@" + name + ": it has linked clones "
            + String.join(", ", clones) + " (flatten or delete them first)");
      }
      commits.flushLocked();
      v.dropSnapshot(s);
      long id = s.record.id();
      commits.stage(batch -> batch.deleteRange(meta.maps, Keys.pair(id, 0), Keys.pair(id + 1, 0)));
      commits.stage(batch -> batch.delete(meta.catalog, Keys.catalog('n', id)));
      commits.flushLocked();
      ChangeLog.released(meta, v, s.generation());
    } finally {
      commits.lock().writeLock().unlock();
    }
  }

  /** Makes the volume's content what snapshot {@code name} holds; the snapshot stays. */
  void revert(String volume, String name) throws IOException {
    commits.lock().writeLock().lock();
    try {
      VolumeState v = volumes.get(volume);
      SnapshotState s = find(v, name);
      commits.flushLocked();
      v.mapChanges().revertTo(s);
      commits.flushLocked();
    } finally {
      commits.lock().writeLock().unlock();
    }
  }

  /** Creates linked clones of a snapshot, one per name, in one commit; each is O(1). */
  List<Volume> clone(String volume, String name, List<String> names) throws IOException {
    List<Volume> out = new ArrayList<>();
    commits.lock().writeLock().lock();
    try {
      VolumeState v = volumes.get(volume);
      SnapshotState s = find(v, name);
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (String n : names) {
        SnapshotRef.checkName("volume", n);
        if (volumes.contains(n) || !seen.add(n)) {
          throw new DatastoreException("volume " + n + " already exists in " + parts.dir());
        }
      }
      for (String n : names) {
        VolumeRecord r = new VolumeRecord(commits.newId(), n, UUID.randomUUID().toString(), v.size,
            Instant.now().toString(), 0, 0, 0, v.id, s.record.id(), 0, null);
        commits.stage(batch -> batch.put(meta.catalog, Keys.catalog('v', r.id()), r.encode()));
        VolumeState c = new VolumeState(parts, r);
        c.linkParent(v, s);
        volumes.add(c);
        out.add(new Volume(store, c, null, false));
      }
      commits.flushLocked();
    } finally {
      commits.lock().writeLock().unlock();
    }
    return out;
  }

  /**
   * Copies up everything a linked clone reads from its parent into its own base map, so that it
   * (and its snapshots) no longer depend on the parent. The copy runs without blocking writers;
   * the switch is one commit.
   */
  void flatten(String volume) throws IOException {
    VolumeState c = volumes.get(volume);
    VolumeState parent;
    SnapshotState parentSnapshot;
    c.lock.readLock().lock();
    try {
      parent = c.parent();
      parentSnapshot = c.parentSnapshot();
    } finally {
      c.lock.readLock().unlock();
    }
    if (parent == null) {
      throw new DatastoreException("volume " + volume + " is not a linked clone: nothing to flatten");
    }
    VolumeView source = parent.view(parentSnapshot);
    List<MapEntry> entries = new ArrayList<>();
    List<RecordState> states = new ArrayList<>();
    int step = RecordHeader.MAX_BLOCKS;
    ByteBuffer chunk = ByteBuffer.allocateDirect(step * VolumeState.BLOCK);
    try {
      // Only the parent's data extents are visited, so the copy costs what the parent maps, not
      // the clone's virtual size (a 64 TiB clone has 64 Mi chunks of 1 MiB).
      for (Extent x : source.allocation(0, c.blocks * VolumeState.BLOCK)) {
        if (x.kind() != Extent.Kind.DATA) {
          continue;
        }
        long end = x.end() / VolumeState.BLOCK;
        for (long b = x.offset() / VolumeState.BLOCK; b < end; ) {
          // Chunks keep to multiples of the largest record, as the volume's own writes do.
          long next = Math.min(end, (b / step + 1) * step);
          chunk.clear().limit((int) ((next - b) * VolumeState.BLOCK));
          source.readBlocks(b, next, chunk);
          chunk.flip();
          // Born at generation 0: every snapshot of the clone saw the parent's content where it had none.
          c.writer().encode(b, chunk, false, 0, entries, states);
          b = next;
        }
      }
      commits.lock().writeLock().lock();
      try {
        if (c.parent() != parent || c.isDeleted()) {
          throw new DatastoreException("volume " + volume + " changed while being flattened; try again");
        }
        c.installBase(new BlockMap(commits.newId(), meta), entries, states);
        commits.flushLocked();
      } finally {
        commits.lock().writeLock().unlock();
      }
    } finally {
      parts.usage().published(entries); // in the new base now, or never: the cleaner may have their segments
    }
  }
}
