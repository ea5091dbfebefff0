package io.vstore.blockstore.store;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * The reference states of one volume's records, with changes since the last flush kept in memory.
 * Guarded like {@link BlockMap}, by the owning volume's lock.
 */
final class RecordRefs {
  private final MetaStore meta;
  private final Map<RecordKey, RecordState> pending = new HashMap<>();

  RecordRefs(MetaStore meta) {
    this.meta = meta;
  }

  /** Returns the state of {@code key}, or null when no such record is known. */
  RecordState get(RecordKey key) throws IOException {
    RecordState s = pending.get(key);
    if (s != null) {
      return s;
    }
    byte[] value = meta.get(meta.records, key.key());
    return value == null ? null : RecordState.decode(value);
  }

  /** Records the new state of {@code key}; a state with no live blocks is deleted at commit. */
  void put(RecordKey key, RecordState state) {
    pending.put(key, state);
  }

  /** Returns the number of changes waiting for the next flush. */
  int pendingChanges() {
    return pending.size();
  }

  /** Adds the pending changes to {@code batch}. */
  void writeTo(WriteBatch batch) throws IOException {
    try {
      for (Map.Entry<RecordKey, RecordState> e : pending.entrySet()) {
        if (e.getValue().liveBlocks() == 0) {
          batch.delete(meta.records, e.getKey().key());
        } else {
          batch.put(meta.records, e.getKey().key(), e.getValue().encode());
        }
      }
    } catch (RocksDBException ex) {
      throw new IOException("cannot stage record changes: " + ex.getMessage(), ex);
    }
  }

  /** Forgets the pending changes once they are committed. */
  void clearPending() {
    pending.clear();
  }
}
