package io.vstore.backup.repo;

import io.vstore.backup.crypto.Argon2Params;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.backup.store.ObjectStore;
import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

/** Shared set-up of the repository tests: cheap Argon2, small packs, chunk contents. */
final class TestRepos {
  static final int CHUNK = RepositoryOptions.MIN_CHUNK;

  private TestRepos() {}

  static RepositoryOptions options() {
    return RepositoryOptions.defaults().withChunkSize(CHUNK).withArgon2(Argon2Params.TESTING)
        .withPackTargetBytes(64 * 1024);
  }

  static KeySource passphrase(String p) {
    return new KeySource.Passphrase(p.toCharArray());
  }

  static ObjectStore store(Path dir) throws IOException {
    return DirectoryStore.open(dir);
  }

  /** Returns a directory store in an in-memory file system: no fsync cost for the randomized tests. */
  static ObjectStore memoryStore() throws IOException {
    FileSystem fs = Jimfs.newFileSystem(Configuration.unix());
    return DirectoryStore.open(fs.getPath("/repo"));
  }

  /** Returns a chunk: text-like when {@code seed} is even, random otherwise. */
  static ByteBuffer chunk(long seed, int length) {
    Random r = new Random(seed);
    byte[] b = new byte[length];
    if ((seed & 1) == 0) {
      byte[] words = ("block " + seed + " of a volume, some text that repeats ").getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < length; i++) {
        b[i] = words[(i + r.nextInt(3)) % words.length];
      }
    } else {
      r.nextBytes(b);
    }
    return ByteBuffer.wrap(b);
  }
}
