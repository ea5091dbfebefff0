package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.rocksdb.RocksIterator;

/**
 * Verifies the change log's merged rows and the pins (part of {@code datastore check}): rows decode
 * and do not overlap; every pin belongs to an existing volume and names a committed generation;
 * the log answers every pinned and every snapshot change id exactly (no merged row spans it).
 */
final class ChangeLogChecker {
  private final StoreParts store;
  private final MetaStore meta;
  private final Consumer<String> problems;

  /** Creates a checker reporting to {@code problems}; the caller holds the commit lock exclusively, after a flush. */
  ChangeLogChecker(StoreParts store, Consumer<String> problems) {
    this.store = store;
    this.meta = store.meta();
    this.problems = problems;
  }

  /** Checks the rows and pins and reports what is wrong. */
  void run() throws IOException {
    try (RocksIterator it = meta.iterator(meta.changes)) {
      long volume = -1;
      long previous = 0;
      for (it.seekToFirst(); it.isValid(); it.next()) {
        long id = Keys.first(it.key());
        long generation = Keys.second(it.key());
        if (id != volume) {
          volume = id;
          previous = 0;
        }
        try {
          ChangeLog.Row row = ChangeLog.Row.decode(id, generation, it.value());
          if (row.from() < previous) {
            problems.accept("change log of volume id " + id + ": row of generations " + (row.from() + 1) + " to "
                + generation + " overlaps the row ending at generation " + previous);
          }
        } catch (CorruptDataException e) {
          problems.accept(e.getMessage());
        }
        previous = generation;
      }
    }
    for (long id : volumesWithPins()) {
      if (store.volumes().byId(id) == null) {
        problems.accept("pin of change log belongs to missing volume id " + id);
      }
    }
    for (VolumeState v : store.volumes().list()) {
      for (long g : ChangePins.generations(meta, v.id)) {
        checkKept(v, g, "pinned");
      }
      for (SnapshotState s : v.snapshots()) {
        checkKept(v, s.generation(), "snapshot " + v.name + "@" + s.name() + "'s");
      }
    }
  }

  /** Reports a kept change id of {@code v} at {@code generation} that the log cannot answer exactly. */
  private void checkKept(VolumeState v, long generation, String what) throws IOException {
    String id = v.uuid + "/" + generation;
    if (generation > v.committedGeneration()) {
      problems.accept(what + " change id " + id + " of volume " + v.name + " is beyond its committed generation "
          + v.committedGeneration());
      return;
    }
    try {
      ChangeLog.checkTracked(meta, v, id, generation);
    } catch (ChangeIdException e) {
      problems.accept(what + " " + e.getMessage() + " (volume " + v.name + ")");
    }
  }

  /** Returns the volume ids that have pins, each once. */
  private List<Long> volumesWithPins() throws IOException {
    List<Long> out = new ArrayList<>();
    try (RocksIterator it = meta.iterator(meta.catalog)) {
      byte[] prefix = Keys.catalogPrefix('p');
      for (it.seek(prefix); it.isValid() && it.key()[0] == prefix[0] && it.key().length >= 10; it.next()) {
        long id = Keys.catalogId(it.key());
        if (out.isEmpty() || out.getLast() != id) {
          out.add(id);
        }
      }
    }
    return out;
  }
}
