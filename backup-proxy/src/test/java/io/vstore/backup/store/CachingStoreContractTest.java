package io.vstore.backup.store;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** A {@link CachingStore} that caches every key, over a {@link DirectoryStore}, passes the store contract. */
final class CachingStoreContractTest extends ObjectStoreContract {
  @TempDir Path dir;

  @Override
  protected ObjectStore openStore() throws IOException {
    return CachingStore.open(DirectoryStore.open(dir.resolve("repo")), dir.resolve("cache"), 64L << 20, key -> true);
  }
}
