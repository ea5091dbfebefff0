package io.vstore.blockstore.store;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * The reference states of one volume's records: reads and changes go to the datastore's
 * {@link RecordTable}; the keys changed since the last flush are kept here for the next commit.
 * Guarded like {@link BlockMap}, by the owning volume's lock.
 */
final class RecordRefs {
  private final MetaStore meta;
  private final RecordTable table;
  /** The newest change of each key changed since the last flush. */
  private Map<RecordKey, RecordTable.Change> changed = new HashMap<>();

  RecordRefs(MetaStore meta, RecordTable table) {
    this.meta = meta;
    this.table = table;
  }

  /** Returns the state of {@code key}, or null when no such record is alive. */
  RecordState get(RecordKey key) {
    return table.get(key);
  }

  /** Records the new state of {@code key}; a state with no live blocks is deleted at commit. */
  void put(RecordKey key, RecordState state) {
    changed.put(key, table.put(key, state));
  }

  /** Returns the number of changes waiting for the next flush. */
  int pendingChanges() {
    return changed.size();
  }

  /** Adds the pending changes to {@code batch}. */
  void writeTo(WriteBatch batch) throws IOException {
    try {
      for (RecordTable.Change c : changed.values()) {
        if (c.state == null) {
          batch.delete(meta.records, c.key.key());
        } else {
          batch.put(meta.records, c.key.key(), c.state.encode());
        }
      }
    } catch (RocksDBException ex) {
      throw new IOException("cannot stage record changes: " + ex.getMessage(), ex);
    }
  }

  /** Marks the pending changes as staged in {@code stage}'s batch and forgets them. */
  void staged(CommitPipeline.Stage stage) {
    for (RecordTable.Change c : changed.values()) {
      table.staged(c, stage);
    }
    changed = new HashMap<>(); // not clear(): clearing a large table costs its whole capacity
  }
}
