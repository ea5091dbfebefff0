package io.vstore.blockstore.store;

import java.io.IOException;

/**
 * Crashes a datastore for tests of other modules (in the test-jar): drops it without a flush, as
 * a killed process would, so that only what was flushed survives the reopen.
 */
public final class DatastoreCrashes {
  private DatastoreCrashes() {}

  /** Drops {@code ds} as a crash would: unflushed writes are lost, files and the lock released. */
  public static void crash(Datastore ds) throws IOException {
    ds.abandon();
  }
}
