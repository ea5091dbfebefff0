package io.vstore.offline.client;

import io.vstore.blockstore.crypto.KeySource;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The datastore inside an offline copy ({@code DIR/store}), encrypted at rest (AES-256-GCM): every
 * record and the metadata that reveals content are sealed, and tampering is detected on read and by
 * {@code datastore check}. Its data key is wrapped in a key-file slot whose key is derived (HMAC-SHA256,
 * own label) from the copy's Argon2id stretch of the passphrase (see {@link Passphrase}): the
 * passphrase still guards it through Argon2id, and a command pays for one Argon2id run, not two.
 */
final class ClientStore {
  static final String DIR = "store";

  private ClientStore() {}

  /** Creates the copy's encrypted datastore, or opens it when a resumed check-out already made it. */
  static Datastore createOrOpen(Path copy, Passphrase key) throws IOException {
    Path dir = copy.resolve(DIR);
    if (Files.exists(dir.resolve("datastore.json"))) {
      return open(copy, key);
    }
    return Datastore.create(dir, options(key), 0, true);
  }

  /** Opens the copy's datastore with its passphrase. */
  static Datastore open(Path copy, Passphrase key) throws IOException {
    return Datastore.open(copy.resolve(DIR), options(key));
  }

  private static DatastoreOptions options(Passphrase key) {
    return DatastoreOptions.defaults().withKeys(new KeySource.KeyFile(key.datastoreKey(), "the copy's passphrase"));
  }
}
