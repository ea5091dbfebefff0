package io.vstore.cli;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.engine.Inventory;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;

/**
 * A datastore opened for one command together with its engine inventory; warns on stderr about
 * what the inventory could not reconcile.
 */
final class EngineSession implements Closeable {
  final Datastore store;
  final Inventory inventory;

  private EngineSession(Datastore store, Inventory inventory) {
    this.store = store;
    this.inventory = inventory;
  }

  /** Opens the datastore at {@code location} and its inventory. */
  static EngineSession open(DatastoreLocation location, PrintWriter err) throws IOException {
    Datastore ds = location.open();
    boolean success = false;
    try {
      Inventory inv = Inventory.open(ds);
      for (String problem : inv.problems()) {
        err.println("vstore: warning: " + problem);
      }
      success = true;
      return new EngineSession(ds, inv);
    } finally {
      if (!success) {
        ds.close();
      }
    }
  }

  /** Parses {@code VM@SNAP}, or throws naming the bad value. */
  static SnapshotRef vmSnapshot(String spec) {
    return SnapshotRef.parseSnapshot(spec, "VM");
  }

  @Override
  public void close() throws IOException {
    store.close();
  }
}
