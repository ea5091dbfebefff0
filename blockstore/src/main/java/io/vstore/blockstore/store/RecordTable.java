package io.vstore.blockstore.store;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.rocksdb.RocksIterator;

/**
 * The reference states of every live record of a datastore, in memory, loaded from RocksDB on
 * first use. Overwrites release old records at random, so looking their states up in RocksDB cost
 * a point read per replaced extent; held here they cost a hash lookup. About 100 bytes a record.
 *
 * <p>Thread-safe: volumes change the states of their own records under their own locks, in
 * parallel. The table is loaded before its first change, so it never misses a change that a flush
 * in progress has yet to commit. Dead records (no live blocks) are dropped.
 */
final class RecordTable {
  private final MetaStore meta;
  private volatile Map<RecordKey, RecordState> states;

  RecordTable(MetaStore meta) {
    this.meta = meta;
  }

  private Map<RecordKey, RecordState> states() {
    Map<RecordKey, RecordState> s = states;
    if (s == null) {
      synchronized (this) {
        s = states;
        if (s == null) {
          s = load();
          states = s;
        }
      }
    }
    return s;
  }

  private Map<RecordKey, RecordState> load() {
    Map<RecordKey, RecordState> out = new ConcurrentHashMap<>();
    try (RocksIterator it = meta.iterator(meta.records)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        out.put(new RecordKey(Keys.first(it.key()), Keys.second(it.key())), RecordState.decode(it.value()));
      }
    }
    return out;
  }

  /** Returns the state of {@code key}, or null when the record is unknown or dead. */
  RecordState get(RecordKey key) {
    return states().get(key);
  }

  /** Returns the number of live records. */
  int size() {
    return states().size();
  }

  /** Sets the state of {@code key}; a state with no live blocks removes it. */
  void put(RecordKey key, RecordState state) {
    if (state.liveBlocks() == 0) {
      states().remove(key);
    } else {
      states().put(key, state);
    }
  }
}
