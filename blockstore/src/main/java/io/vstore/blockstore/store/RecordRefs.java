package io.vstore.blockstore.store;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
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
  private final Set<RecordKey> changed = new HashSet<>();

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
    table.put(key, state);
    changed.add(key);
  }

  /** Returns the number of changes waiting for the next flush. */
  int pendingChanges() {
    return changed.size();
  }

  /** Adds the pending changes to {@code batch}. */
  void writeTo(WriteBatch batch) throws IOException {
    try {
      for (RecordKey key : changed) {
        RecordTable.Change c = table.change(key);
        if (c == null) {
          // Only a committed change is purged, and this one was never staged.
          throw new IllegalStateException("the change of " + key + " is missing from the overlay");
        }
        if (c.state == null) {
          batch.delete(meta.records, key.key());
        } else {
          batch.put(meta.records, key.key(), c.state.encode());
        }
      }
    } catch (RocksDBException ex) {
      throw new IOException("cannot stage record changes: " + ex.getMessage(), ex);
    }
  }

  /** Marks the pending changes as staged in {@code stage}'s batch and forgets them. */
  void staged(CommitPipeline.Stage stage) {
    for (RecordKey key : changed) {
      RecordTable.Change c = table.change(key);
      if (c != null && c.stage == null) {
        c.stage = stage;
      }
    }
    changed.clear();
  }
}
