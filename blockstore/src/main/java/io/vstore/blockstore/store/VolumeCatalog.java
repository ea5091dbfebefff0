package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.rocksdb.RocksIterator;

/**
 * The volumes of a datastore by name, loaded from the catalog at open. Thread-safe; volumes are
 * added and removed with the commit lock held exclusively.
 *
 * <p>Volumes a transplant is still building ({@link VolumeRecord#incoming}) are held apart: no
 * name finds them and {@link #all} leaves them out, but {@link #byId} and {@link #list} (the
 * cleaner's and the checker's view of what owns records) include them.
 */
final class VolumeCatalog {
  private final Path dir;
  private final Map<String, VolumeState> byName = new ConcurrentHashMap<>();
  private final Collection<VolumeState> all = Collections.unmodifiableCollection(byName.values());
  private final Map<Long, VolumeState> incoming = new ConcurrentHashMap<>();

  /** Creates an empty catalog of the datastore in {@code dir}. */
  VolumeCatalog(Path dir) {
    this.dir = dir;
  }

  /** Loads every volume and snapshot from the catalog and links clones to their parents. */
  void load(StoreParts parts) throws IOException {
    MetaStore meta = parts.meta();
    Map<Long, VolumeRecord> records = new HashMap<>();
    Map<Long, SnapshotState> snapshotsById = new HashMap<>();
    try (RocksIterator it = meta.iterator(meta.catalog)) {
      for (it.seek(Keys.catalogPrefix('v')); it.isValid() && it.key()[0] == 'v'; it.next()) {
        VolumeRecord r = VolumeRecord.decode(it.value());
        records.put(r.id(), r);
        if (r.incoming() != null) {
          incoming.put(r.id(), new VolumeState(parts, r));
        } else {
          byName.put(r.name(), new VolumeState(parts, r));
        }
      }
      for (it.seek(Keys.catalogPrefix('n')); it.isValid() && it.key()[0] == 'n'; it.next()) {
        SnapshotRecord r = SnapshotRecord.decode(it.value());
        VolumeState v = byId(r.volume());
        if (v == null) {
          throw new DatastoreException("bad datastore: " + dir + " has snapshot " + r.name() + " of missing volume id "
              + r.volume());
        }
        SnapshotState snap = new SnapshotState(r, meta);
        v.addSnapshot(snap);
        snapshotsById.put(r.id(), snap);
      }
    }
    for (VolumeState v : byName.values()) {
      VolumeRecord r = records.get(v.id);
      if (r.parentVolume() != 0) {
        VolumeState parent = byId(r.parentVolume());
        SnapshotState parentSnapshot = snapshotsById.get(r.parentSnapshot());
        if (parent == null || parentSnapshot == null) {
          throw new DatastoreException("bad datastore: " + dir + " clone " + v.name + " has a missing parent (volume id "
              + r.parentVolume() + ", snapshot id " + r.parentSnapshot() + ")");
        }
        v.linkParent(parent, parentSnapshot);
      }
    }
  }

  /** Returns volume {@code name}, or throws naming it. */
  VolumeState get(String name) throws DatastoreException {
    VolumeState v = byName.get(name);
    if (v == null) {
      throw new DatastoreException("no volume " + name + " in datastore " + dir);
    }
    return v;
  }

  /** Returns the volume with id {@code id}, incoming or not, or null. */
  VolumeState byId(long id) {
    for (VolumeState v : byName.values()) {
      if (v.id == id) {
        return v;
      }
    }
    return incoming.get(id);
  }

  /** Returns whether volume {@code name} exists. */
  boolean contains(String name) {
    return byName.containsKey(name);
  }

  /** Returns every volume: a live, unmodifiable view. */
  Collection<VolumeState> all() {
    return all;
  }

  /** Returns a copy of the current volumes, incoming ones included. */
  List<VolumeState> list() {
    List<VolumeState> out = new java.util.ArrayList<>(byName.values());
    out.addAll(incoming.values());
    return out;
  }

  /** Returns a copy of the volumes transplants are building. */
  List<VolumeState> incoming() {
    return List.copyOf(incoming.values());
  }

  /** Adds a volume a transplant builds; the caller holds the commit lock exclusively. */
  void addIncoming(VolumeState v) {
    incoming.put(v.id, v);
  }

  /** Files an incoming volume under its name, now that it is published; the caller holds the commit lock exclusively. */
  void publish(VolumeState v) {
    incoming.remove(v.id);
    byName.put(v.name, v);
  }

  /** Forgets an incoming volume, deleted; the caller holds the commit lock exclusively. */
  void removeIncoming(VolumeState v) {
    incoming.remove(v.id);
  }

  /** Adds a new volume; the caller holds the commit lock exclusively. */
  void add(VolumeState v) {
    byName.put(v.name, v);
  }

  /** Files volume {@code from} under {@code to}; the caller holds the commit lock exclusively. */
  void rename(String from, String to) {
    VolumeState v = byName.remove(from);
    byName.put(to, v);
  }

  /** Removes volume {@code name}; the caller holds the commit lock exclusively. */
  void remove(String name) {
    VolumeState v = byName.remove(name);
    SnapshotState parentSnapshot = v == null ? null : v.parentSnapshot();
    if (parentSnapshot != null) {
      parentSnapshot.clones.remove(v);
    }
  }

  /** Returns the number of volumes. */
  int size() {
    return byName.size();
  }
}
