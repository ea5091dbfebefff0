package io.vstore.blockstore.store;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

/**
 * One block map (a volume's head, a snapshot's delta, a clone's base): non-overlapping extents.
 * The committed map lives in RocksDB; changes since the last flush live in an in-memory overlay
 * (entries and tombstones) that every lookup consults first.
 *
 * <p>Entries are keyed by their <em>end</em> block, not their start: the entries overlapping
 * {@code [from, to)} are then exactly those from the first key above {@code from} onwards, found
 * with one forward seek. Keying by start would need a backward seek to find an entry that begins
 * before {@code from}, and RocksDB's backward seeks over the tombstones that overwrites leave are
 * slow.
 *
 * <p>Not thread-safe: the owning volume's lock guards it (shared for lookups, exclusive for
 * changes); flush writes the overlay out while holding the datastore's commit lock.
 */
final class BlockMap {
  /** Marks an overlay key whose committed entry is gone. */
  private static final MapEntry TOMBSTONE = new MapEntry(-1, 1, MapEntry.Kind.ZERO, null, 0, -1);

  private final long id;
  private final MetaStore meta;
  private final TreeMap<Long, MapEntry> overlay = new TreeMap<>(); // end block -> entry or TOMBSTONE

  BlockMap(long id, MetaStore meta) {
    this.id = id;
    this.meta = meta;
  }

  /** Returns the map's id: the first half of its keys. */
  long id() {
    return id;
  }

  /** Returns the entries that intersect blocks {@code [from, to)}, in order. */
  List<MapEntry> overlapping(long from, long to) {
    List<MapEntry> out = new ArrayList<>();
    forEach(from, to, out::add);
    return out;
  }

  /** Calls {@code action} for each entry intersecting {@code [from, to)}, in order. */
  void forEach(long from, long to, Consumer<MapEntry> action) {
    if (from >= to) {
      return;
    }
    try (RocksIterator it = meta.iterator(meta.maps)) {
      it.seek(Keys.pair(id, from + 1));
      var pending = overlay.tailMap(from, false).entrySet().iterator();
      Map.Entry<Long, MapEntry> o = pending.hasNext() ? pending.next() : null;
      while (true) {
        long kr = it.isValid() && Keys.first(it.key()) == id ? Keys.second(it.key()) : Long.MAX_VALUE;
        long ko = o == null ? Long.MAX_VALUE : o.getKey();
        if (kr == Long.MAX_VALUE && ko == Long.MAX_VALUE) {
          return;
        }
        MapEntry e;
        if (ko <= kr) {
          e = o.getValue();
          if (ko == kr) {
            it.next();
          }
          o = pending.hasNext() ? pending.next() : null;
          if (e == TOMBSTONE) {
            continue;
          }
        } else {
          e = MapEntry.decodeEnding(kr, it.value());
          it.next();
        }
        if (e.start() >= to) {
          return; // entries are disjoint, so ordered by end they are ordered by start too
        }
        action.accept(e);
      }
    }
  }

  /** Adds {@code e}; the caller has removed whatever it overlaps. */
  void put(MapEntry e) {
    overlay.put(e.end(), e);
  }

  /** Removes entry {@code e}. */
  void remove(MapEntry e) {
    overlay.put(e.end(), TOMBSTONE);
  }

  /** Returns the number of changes waiting for the next flush. */
  int pendingChanges() {
    return overlay.size();
  }

  /** Adds the pending changes to {@code batch}. */
  void writeTo(WriteBatch batch) throws IOException {
    try {
      for (Map.Entry<Long, MapEntry> e : overlay.entrySet()) {
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

  /** Forgets the pending changes once they are committed (or abandoned). */
  void clearPending() {
    overlay.clear();
  }
}
