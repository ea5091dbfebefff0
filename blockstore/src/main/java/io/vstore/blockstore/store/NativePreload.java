package io.vstore.blockstore.store;

import org.rocksdb.RocksDB;

/** Loads the metadata store's native library ahead of a datastore's open. */
public final class NativePreload {
  private NativePreload() {}

  /**
   * Starts loading RocksDB's native library (15 MB) on a background thread, for a process that will
   * open a datastore soon: the load then overlaps the caller's own start-up work on another core.
   * A failure is left for the open itself to report (it loads the library again).
   */
  public static void startInBackground() {
    Thread.ofPlatform().daemon().name("vstore-preload").start(() -> {
      try {
        RocksDB.loadLibrary();
      } catch (RuntimeException | LinkageError e) {
        // MetaStore's own load reports it, with the datastore it was opening.
      }
    });
  }
}
