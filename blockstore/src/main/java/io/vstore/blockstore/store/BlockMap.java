package io.vstore.blockstore.store;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

/**
 * One block map (a volume's head, a snapshot's delta, a clone's base): non-overlapping extents.
 * The whole map lives in memory, loaded from RocksDB on first use; RocksDB is its durable copy,
 * written at each flush with the changes made since the previous one. Lookups therefore never
 * touch RocksDB: a 4 KiB write that had to seek RocksDB for the entries it replaces spent a fifth
 * of its time there, and far more once the map outgrew RocksDB's memtable. The price is memory,
 * about 150 bytes per extent (a fully fragmented 4 GiB volume: about 160 MB).
 *
 * <p>Entries are keyed by their <em>end</em> block, not their start: the entries overlapping
 * {@code [from, to)} are then exactly those from the first key above {@code from} onwards, found
 * with one forward lookup. RocksDB keys use the same order.
 *
 * <p>Not thread-safe: the owning volume's lock guards it (shared for lookups, exclusive for
 * changes); a flush stages the changes while holding the datastore's commit lock exclusively.
 * Loading is safe under the shared lock. A map is loaded before its first change, so what it
 * loads is never older than what a flush in progress is committing.
 */
final class BlockMap {
  /** Marks a changed key whose committed entry is gone. */
  private static final MapEntry TOMBSTONE = new MapEntry(-1, 1, MapEntry.Kind.ZERO, null, 0, -1);

  private final long id;
  private final MetaStore meta;
  /** Every entry, committed or not, by end block; null until loaded. */
  private volatile TreeMap<Long, MapEntry> entries;
  /** Keys changed since the last flush: end block to entry or TOMBSTONE. */
  private final Map<Long, MapEntry> changed = new HashMap<>();

  /** Creates map {@code id}, loaded from {@code meta} on first use. */
  BlockMap(long id, MetaStore meta) {
    this.id = id;
    this.meta = meta;
  }

  /** Returns the map's id: the first half of its keys. */
  long id() {
    return id;
  }

  private TreeMap<Long, MapEntry> entries() {
    TreeMap<Long, MapEntry> e = entries;
    if (e == null) {
      synchronized (this) {
        e = entries;
        if (e == null) {
          e = load();
          entries = e;
        }
      }
    }
    return e;
  }

  private TreeMap<Long, MapEntry> load() {
    TreeMap<Long, MapEntry> out = new TreeMap<>();
    try (RocksIterator it = meta.iterator(meta.maps)) {
      for (it.seek(Keys.pair(id, 0)); it.isValid() && Keys.first(it.key()) == id; it.next()) {
        long end = Keys.second(it.key());
        out.put(end, MapEntry.decodeEnding(end, it.value()));
      }
    }
    return out;
  }

  /** Returns the entries that intersect blocks {@code [from, to)}, in order. */
  List<MapEntry> overlapping(long from, long to) {
    List<MapEntry> out = new ArrayList<>();
    if (from >= to) {
      return out;
    }
    for (MapEntry e : entries().tailMap(from, false).values()) {
      if (e.start() >= to) {
        break; // entries are disjoint, so ordered by end they are ordered by start too
      }
      out.add(e);
    }
    return out;
  }

  /** Returns the entry ending at block {@code end}, or null. */
  MapEntry entryEnding(long end) {
    return entries().get(end);
  }

  /** Returns the number of entries. */
  int size() {
    return entries().size();
  }

  /** Adds {@code e}; the caller has removed whatever it overlaps. */
  void put(MapEntry e) {
    entries().put(e.end(), e);
    changed.put(e.end(), e);
  }

  /** Removes entry {@code e}. */
  void remove(MapEntry e) {
    entries().remove(e.end());
    changed.put(e.end(), TOMBSTONE);
  }

  /** Returns the number of changes waiting for the next flush. */
  int pendingChanges() {
    return changed.size();
  }

  /** Adds the pending changes to {@code batch}. */
  void writeTo(WriteBatch batch) throws IOException {
    try {
      for (Map.Entry<Long, MapEntry> e : changed.entrySet()) {
        byte[] key = Keys.pair(id, e.getKey());
        if (e.getValue() == TOMBSTONE) {
          batch.delete(meta.maps, key);
        } else {
          batch.put(meta.maps, key, e.getValue().encodeValue());
        }
      }
    } catch (RocksDBException ex) {
      throw new IOException("cannot stage changes of map " + id + ": " + ex.getMessage(), ex);
    }
  }

  /** Forgets the pending changes once they are staged for commit. */
  void clearPending() {
    changed.clear();
  }
}
