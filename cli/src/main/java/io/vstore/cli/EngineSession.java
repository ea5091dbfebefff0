package io.vstore.cli;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.engine.Inventory;
import io.vstore.server.ManagedDatastore;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;

/**
 * A datastore opened for one command together with its engine inventory; warns on stderr about
 * what the inventory could not reconcile. In the daemon both are the ones it holds open.
 */
final class EngineSession implements Closeable {
  final Datastore store;
  final Inventory inventory;

  private EngineSession(Datastore store, Inventory inventory) {
    this.store = store;
    this.inventory = inventory;
  }

  /** Opens the datastore at {@code location} and its inventory (in the daemon: the daemon's). */
  static EngineSession open(DatastoreLocation location, PrintWriter err) throws IOException {
    if (DaemonContext.current().isPresent()) {
      ManagedDatastore managed = location.managed();
      warn(managed.inventory(), err);
      return new EngineSession(managed.store(), managed.inventory());
    }
    Datastore ds = location.open();
    boolean success = false;
    try {
      Inventory inv = Inventory.open(ds);
      warn(inv, err);
      success = true;
      return new EngineSession(ds, inv);
    } finally {
      if (!success) {
        ds.close();
      }
    }
  }

  private static void warn(Inventory inv, PrintWriter err) {
    for (String problem : inv.problems()) {
      err.println("vstore: warning: " + problem);
    }
  }

  /** Parses {@code VM@SNAP}, or throws naming the bad value. */
  static SnapshotRef vmSnapshot(String spec) {
    return SnapshotRef.parseSnapshot(spec, "VM");
  }

  /** Closes the datastore (in the daemon this leaves it open: the daemon holds it). */
  @Override
  public void close() throws IOException {
    store.close();
  }
}
