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
 * One volume's block map: non-overlapping extents keyed by their first block. The committed map
 * lives in RocksDB; changes since the last flush live in an in-memory overlay (entries and
 * tombstones) that every lookup consults first.
 *
 * <p>Not thread-safe: the owning volume's lock guards it (shared for lookups, exclusive for
 * changes); flush writes the overlay out while holding the datastore's commit lock.
 */
final class BlockMap {
  /** Marks an overlay key whose committed entry is gone. */
  private static final MapEntry TOMBSTONE = new MapEntry(-1, 1, MapEntry.Kind.ZERO, null, 0, -1);

  private final long volume;
  private final MetaStore meta;
  private final TreeMap<Long, MapEntry> overlay = new TreeMap<>();

  BlockMap(long volume, MetaStore meta) {
    this.volume = volume;
    this.meta = meta;
  }

  /** Returns the entries that intersect blocks {@code [from, to)}, in order. */
  List<MapEntry> overlapping(long from, long to) {
    List<MapEntry> out = new ArrayList<>();
    forEach(from, to, out::add);
    return out;
  }

  /** Calls {@code action} for each entry intersecting {@code [from, to)}, in order. */
  void forEach(long from, long to, Consumer<MapEntry> action) {
    try (RocksIterator it = meta.iterator(meta.maps)) {
      MapEntry before = lowerLive(it, from);
      if (before != null && before.end() > from) {
        action.accept(before);
      }
      it.seek(Keys.pair(volume, from));
      var pending = overlay.subMap(from, true, to, false).entrySet().iterator();
      Map.Entry<Long, MapEntry> o = pending.hasNext() ? pending.next() : null;
      while (true) {
        long kr = committedKey(it, to);
        long ko = o == null ? Long.MAX_VALUE : o.getKey();
        if (kr == Long.MAX_VALUE && ko == Long.MAX_VALUE) {
          return;
        }
        if (ko <= kr) {
          if (o.getValue() != TOMBSTONE) {
            action.accept(o.getValue());
          }
          if (ko == kr) {
            it.next();
          }
          o = pending.hasNext() ? pending.next() : null;
        } else {
          action.accept(MapEntry.decode(kr, it.value()));
          it.next();
        }
      }
    }
  }

  /** Returns the key of the iterator's entry if it belongs to this volume and is below {@code to}. */
  private long committedKey(RocksIterator it, long to) {
    if (!it.isValid()) {
      return Long.MAX_VALUE;
    }
    byte[] key = it.key();
    if (Keys.first(key) != volume) {
      return Long.MAX_VALUE;
    }
    long block = Keys.second(key);
    return block < to ? block : Long.MAX_VALUE;
  }

  /** Returns the live entry with the greatest start below {@code block}, or null. */
  private MapEntry lowerLive(RocksIterator it, long block) {
    long probe = block - 1;
    while (probe >= 0) {
      Map.Entry<Long, MapEntry> o = overlay.floorEntry(probe);
      long ko = o == null ? -1 : o.getKey();
      it.seekForPrev(Keys.pair(volume, probe));
      long kr = -1;
      if (it.isValid() && Keys.first(it.key()) == volume) {
        kr = Keys.second(it.key());
      }
      if (ko < 0 && kr < 0) {
        return null;
      }
      if (ko >= kr) {
        if (o.getValue() != TOMBSTONE) {
          return o.getValue();
        }
        probe = ko - 1;
      } else {
        return MapEntry.decode(kr, it.value());
      }
    }
    return null;
  }

  /** Adds {@code e}; the caller has removed whatever it overlaps. */
  void put(MapEntry e) {
    overlay.put(e.start(), e);
  }

  /** Removes the entry starting at {@code start}. */
  void remove(long start) {
    overlay.put(start, TOMBSTONE);
  }

  /** Returns the number of changes waiting for the next flush. */
  int pendingChanges() {
    return overlay.size();
  }

  /** Adds the pending changes to {@code batch}. */
  void writeTo(WriteBatch batch) throws IOException {
    try {
      for (Map.Entry<Long, MapEntry> e : overlay.entrySet()) {
        byte[] key = Keys.pair(volume, e.getKey());
        if (e.getValue() == TOMBSTONE) {
          batch.delete(meta.maps, key);
        } else {
          batch.put(meta.maps, key, e.getValue().encodeValue());
        }
      }
    } catch (RocksDBException ex) {
      throw new IOException("cannot stage map changes of volume " + volume + ": " + ex.getMessage(), ex);
    }
  }

  /** Forgets the pending changes once they are committed (or abandoned). */
  void clearPending() {
    overlay.clear();
  }
}
