package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The copy-on-write operations on volumes: snapshot (one volume or a consistency group), delete,
 * revert, linked clone and flatten. Each holds the datastore's commit lock exclusively, flushes,
 * changes the maps and commits catalog and maps in one batch, so a crash leaves the before or the
 * after state, never a mix.
 */
final class Snapshots {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private final Datastore store;

  Snapshots(Datastore store) {
    this.store = store;
  }

  static void checkName(String kind, String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("bad " + kind + " name '" + name
          + "': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
  }

  /** Returns snapshot {@code name} of {@code v}, or throws naming it. */
  SnapshotState find(VolumeState v, String name) throws DatastoreException {
    v.lock.readLock().lock();
    try {
      SnapshotState s = v.snapshot(name);
      if (s == null) {
        throw new DatastoreException("no snapshot " + v.name + "@" + name + " in datastore " + store.path());
      }
      return s;
    } finally {
      v.lock.readLock().unlock();
    }
  }

  /** Returns the names of the linked clones of {@code s}. */
  List<String> clonesOf(SnapshotState s) {
    List<String> out = new ArrayList<>();
    for (VolumeState v : store.states()) {
      if (v.parentSnapshot == s) {
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
    store.commitLock().writeLock().lock();
    try {
      for (Map.Entry<String, String> e : group.entrySet()) {
        checkName("snapshot", e.getValue());
        VolumeState v = store.state(e.getKey());
        if (v.snapshot(e.getValue()) != null) {
          throw new DatastoreException("snapshot " + v.name + "@" + e.getValue() + " already exists");
        }
      }
      // Every write that completed before this point is in the flush; none can start until we
      // release the commit lock, so all volumes of the group are captured at the same instant.
      store.flushLocked();
      for (Map.Entry<String, String> e : group.entrySet()) {
        VolumeState v = store.state(e.getKey());
        SnapshotRecord r = new SnapshotRecord(store.newId(), v.id, e.getValue(), v.committedGeneration,
            Instant.now().toString());
        store.stage(batch -> batch.put(store.meta().catalog, Keys.catalog('n', r.id()), r.encode()));
        SnapshotState s = new SnapshotState(r, store.meta());
        v.lock.writeLock().lock();
        try {
          v.addSnapshot(s);
        } finally {
          v.lock.writeLock().unlock();
        }
        made.put(v, s);
      }
      store.flushLocked();
    } finally {
      store.commitLock().writeLock().unlock();
    }
    for (Map.Entry<VolumeState, SnapshotState> e : made.entrySet()) {
      out.add(info(e.getKey(), e.getValue()));
    }
    return out;
  }

  /** Returns the figures of snapshot {@code s} of {@code v}. */
  SnapshotInfo info(VolumeState v, SnapshotState s) {
    long[] space = v.space(s);
    return new SnapshotInfo(v.name, s.name(), ChangeTracking.changeId(v, s), s.record.created(), space[0], space[1],
        space[2], clonesOf(s));
  }

  List<SnapshotInfo> list(String volume) throws IOException {
    VolumeState v = store.state(volume);
    List<SnapshotState> all;
    v.lock.readLock().lock();
    try {
      all = List.copyOf(v.snapshots);
    } finally {
      v.lock.readLock().unlock();
    }
    List<SnapshotInfo> out = new ArrayList<>();
    for (SnapshotState s : all) {
      out.add(info(v, s));
    }
    return out;
  }

  /** Deletes a snapshot; refused while it has linked clones. */
  void delete(String volume, String name) throws IOException {
    store.commitLock().writeLock().lock();
    try {
      VolumeState v = store.state(volume);
      SnapshotState s = find(v, name);
      List<String> clones = clonesOf(s);
      if (!clones.isEmpty()) {
        throw new DatastoreException("cannot delete snapshot " + volume + "@" + name + ": it has linked clones "
            + String.join(", ", clones) + " (flatten or delete them first)");
      }
      store.flushLocked();
      v.dropSnapshot(s);
      long id = s.record.id();
      store.stage(batch -> batch.deleteRange(store.meta().maps, Keys.pair(id, 0), Keys.pair(id + 1, 0)));
      store.stage(batch -> batch.delete(store.meta().catalog, Keys.catalog('n', id)));
      s.deleted = true;
      store.flushLocked();
    } finally {
      store.commitLock().writeLock().unlock();
    }
  }

  /** Makes the volume's content what snapshot {@code name} holds; the snapshot stays. */
  void revert(String volume, String name) throws IOException {
    store.commitLock().writeLock().lock();
    try {
      VolumeState v = store.state(volume);
      SnapshotState s = find(v, name);
      store.flushLocked();
      v.revertTo(s);
      store.flushLocked();
    } finally {
      store.commitLock().writeLock().unlock();
    }
  }

  /** Creates linked clones of a snapshot, one per name, in one commit; each is O(1). */
  List<Volume> clone(String volume, String name, List<String> names) throws IOException {
    List<Volume> out = new ArrayList<>();
    store.commitLock().writeLock().lock();
    try {
      VolumeState v = store.state(volume);
      SnapshotState s = find(v, name);
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (String n : names) {
        checkName("volume", n);
        if (store.hasVolume(n) || !seen.add(n)) {
          throw new DatastoreException("volume " + n + " already exists in " + store.path());
        }
      }
      for (String n : names) {
        VolumeRecord r = new VolumeRecord(store.newId(), n, UUID.randomUUID().toString(), v.size,
            Instant.now().toString(), 0, 0, 0, v.id, s.record.id(), 0);
        store.stage(batch -> batch.put(store.meta().catalog, Keys.catalog('v', r.id()), r.encode()));
        VolumeState c = new VolumeState(store, r);
        c.parent = v;
        c.parentSnapshot = s;
        store.register(c);
        out.add(new Volume(c, null, false));
      }
      store.flushLocked();
    } finally {
      store.commitLock().writeLock().unlock();
    }
    return out;
  }

  /**
   * Copies up everything a linked clone reads from its parent into its own base map, so that it
   * (and its snapshots) no longer depend on the parent. The copy runs without blocking writers;
   * the switch is one commit.
   */
  void flatten(String volume) throws IOException {
    VolumeState c = store.state(volume);
    VolumeState parent;
    SnapshotState parentSnapshot;
    c.lock.readLock().lock();
    try {
      parent = c.parent;
      parentSnapshot = c.parentSnapshot;
    } finally {
      c.lock.readLock().unlock();
    }
    if (parent == null) {
      throw new DatastoreException("volume " + volume + " is not a linked clone: nothing to flatten");
    }
    List<MapEntry> entries = new ArrayList<>();
    List<RecordState> states = new ArrayList<>();
    int step = RecordHeader.MAX_BLOCKS;
    ByteBuffer chunk = ByteBuffer.allocateDirect(step * VolumeState.BLOCK);
    try {
      for (long b = 0; b < c.blocks; b += step) {
        long end = Math.min(c.blocks, b + step);
        boolean data = parent.allocation(parentSnapshot, b * VolumeState.BLOCK, (end - b) * VolumeState.BLOCK).stream()
            .anyMatch(x -> x.kind() == io.vstore.blockstore.Extent.Kind.DATA);
        if (!data) {
          continue;
        }
        chunk.clear().limit((int) ((end - b) * VolumeState.BLOCK));
        parent.readBlocks(parentSnapshot, b, end, chunk);
        chunk.flip();
        // Born at generation 0: every snapshot of the clone saw the parent's content where it had none.
        c.encode(b, chunk, false, 0, entries, states);
      }
      store.commitLock().writeLock().lock();
      try {
        if (c.parent != parent || c.deleted) {
          throw new DatastoreException("volume " + volume + " changed while being flattened; try again");
        }
        c.installBase(new BlockMap(store.newId(), store.meta()), entries, states);
        store.flushLocked();
      } finally {
        store.commitLock().writeLock().unlock();
      }
    } finally {
      store.published(entries); // in the new base now, or never: the cleaner may have their segments
    }
  }
}
