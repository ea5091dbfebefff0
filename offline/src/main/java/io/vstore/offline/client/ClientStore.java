package io.vstore.offline.client;

import io.vstore.blockstore.crypto.KeySource;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import java.io.IOException;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The datastore inside an offline copy ({@code DIR/store}), encrypted at rest (AES-256-GCM, its data
 * key wrapped by the copy's passphrase through Argon2id): every record and the metadata that
 * reveals content are sealed, and tampering is detected on read and by {@code datastore check}.
 */
final class ClientStore {
  static final String DIR = "store";

  private ClientStore() {}

  /** Creates the copy's encrypted datastore, or opens it when a resumed check-out already made it. */
  static Datastore createOrOpen(Path copy, char[] passphrase) throws IOException {
    Path dir = copy.resolve(DIR);
    if (Files.exists(dir.resolve("datastore.json"))) {
      return open(copy, passphrase);
    }
    return Datastore.create(dir, options(passphrase), 0, true);
  }

  /** Opens the copy's datastore with its passphrase. */
  static Datastore open(Path copy, char[] passphrase) throws IOException {
    return Datastore.open(copy.resolve(DIR), options(passphrase));
  }

  private static DatastoreOptions options(char[] passphrase) {
    var bytes = StandardCharsets.UTF_8.encode(CharBuffer.wrap(passphrase));
    byte[] secret = new byte[bytes.remaining()];
    bytes.get(secret);
    return DatastoreOptions.defaults().withKeys(new KeySource.Passphrase(secret, "--passphrase-file",
        io.vstore.blockstore.crypto.Argon2Cost.DEFAULT));
  }
}
