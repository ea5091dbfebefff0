package io.vstore.server;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.engine.Inventory;
import io.vstore.blockstore.crypto.KeySource;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A datastore the daemon owns: opened once, with its background cleaner and its engine inventory,
 * and held open (see {@link Datastore#holdOpen}) so that commands run on it cannot close it.
 */
public final class ManagedDatastore implements Closeable {
  private final String name;
  private final Datastore store;
  private final Inventory inventory;
  private final Closeable hold;

  private ManagedDatastore(String name, Datastore store, Inventory inventory, Closeable hold) {
    this.name = name;
    this.store = store;
    this.inventory = inventory;
    this.hold = hold;
  }

  /**
   * Opens (or, if {@code create}, creates) the datastore at {@code dir} and names it {@code name};
   * an encrypted one is unlocked with {@code keys}; its metadata cache holds at most
   * {@code metadataCacheBytes}.
   */
  static ManagedDatastore open(String name, Path dir, boolean create, KeySource keys, long metadataCacheBytes)
      throws IOException {
    DatastoreOptions options = DatastoreOptions.defaults().withKeys(keys).withMetadataCache(metadataCacheBytes);
    Datastore store = create ? Datastore.openOrCreate(dir, options) : Datastore.open(dir, options);
    try {
      Inventory inventory = Inventory.open(store);
      return new ManagedDatastore(name, store, inventory, store.holdOpen());
    } catch (IOException | RuntimeException e) {
      store.close();
      throw e;
    }
  }

  /** Returns the short name the API uses for this datastore (its directory's name, made unique). */
  public String name() {
    return name;
  }

  /** Returns the datastore directory. */
  public Path path() {
    return store.path();
  }

  /** Returns the open datastore; callers must not rely on closing it (the daemon holds it open). */
  public Datastore store() {
    return store;
  }

  /** Returns the datastore's VM and pool inventory; its operations are serialized on it. */
  public Inventory inventory() {
    return inventory;
  }

  /** Flushes and closes the datastore, releasing its lock. */
  @Override
  public void close() throws IOException {
    hold.close();
  }

  @Override
  public String toString() {
    return "datastore " + name + " (" + path() + ")";
  }
}
