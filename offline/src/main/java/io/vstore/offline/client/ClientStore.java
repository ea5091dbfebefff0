package io.vstore.offline.client;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The datastore inside an offline copy ({@code DIR/store}). The one place that creates and opens
 * it, so that encryption at rest with the copy's passphrase is switched on here alone.
 */
final class ClientStore {
  static final String DIR = "store";

  private ClientStore() {}

  /** Creates the copy's datastore, or opens it when a resumed check-out already made it. */
  static Datastore createOrOpen(Path copy, char[] passphrase) throws IOException {
    return Datastore.openOrCreate(copy.resolve(DIR), DatastoreOptions.defaults());
  }

  /** Opens the copy's datastore. */
  static Datastore open(Path copy, char[] passphrase) throws IOException {
    return Datastore.open(copy.resolve(DIR), DatastoreOptions.defaults());
  }
}
