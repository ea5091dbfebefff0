package io.vstore.backup.store;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** {@link DirectoryStore} passes the store contract. */
final class DirectoryStoreContractTest extends ObjectStoreContract {
  @TempDir Path dir;

  @Override
  protected ObjectStore openStore() throws IOException {
    return DirectoryStore.open(dir.resolve("repo"));
  }
}
