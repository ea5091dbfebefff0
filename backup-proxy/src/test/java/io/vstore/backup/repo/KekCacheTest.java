package io.vstore.backup.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.crypto.Argon2Params;
import io.vstore.backup.store.ObjectStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A process stretches each passphrase once per key object, and a cached one never opens a repository for the wrong passphrase. */
final class KekCacheTest {
  @TempDir Path dir;

  @Test
  void remembersWhatItDerivedPerSaltCostAndPassphrase() {
    KekCache.clear();
    byte[] salt = new byte[16];
    byte[] once = KekCache.derive(Argon2Params.TESTING, salt, "a".toCharArray());
    assertThat(KekCache.size()).isEqualTo(1);
    assertThat(KekCache.derive(Argon2Params.TESTING, salt, "a".toCharArray())).isEqualTo(once)
        .isEqualTo(Argon2Params.TESTING.derive("a".toCharArray(), salt));
    assertThat(KekCache.size()).as("found again, not derived again").isEqualTo(1);
    assertThat(KekCache.derive(Argon2Params.TESTING, salt, "b".toCharArray())).isNotEqualTo(once);
    salt[0] = 1;
    assertThat(KekCache.derive(Argon2Params.TESTING, salt, "a".toCharArray())).isNotEqualTo(once);
    assertThat(KekCache.derive(new Argon2Params(128, 1, 1), new byte[16], "a".toCharArray())).isNotEqualTo(once);
    assertThat(KekCache.size()).isEqualTo(4);
    // Handing out copies: a caller that wipes its key (as KeyRing does) leaves the entry intact.
    java.util.Arrays.fill(once, (byte) 0);
    assertThat(KekCache.derive(Argon2Params.TESTING, new byte[16], "a".toCharArray()))
        .isEqualTo(Argon2Params.TESTING.derive("a".toCharArray(), new byte[16]));
  }

  @Test
  void aWrongPassphraseStillFailsAfterTheRightOneWasCached() throws Exception {
    ObjectStore store = TestRepos.store(dir.resolve("repo"));
    ByteBuffer data = TestRepos.chunk(5, TestRepos.CHUNK);
    ChunkId id;
    try (Repository repo = Repository.init(store, TestRepos.passphrase("right"), TestRepos.options())) {
      try (ChunkSink sink = repo.openSink()) {
        id = repo.chunkId(data);
        sink.add(id, data);
      }
    }
    for (int i = 0; i < 2; i++) {
      try (Repository repo = Repository.open(store, TestRepos.passphrase("right"))) {
        assertThat(repo.readChunk(id)).isEqualTo(data);
      }
      assertThatThrownBy(() -> Repository.open(store, TestRepos.passphrase("wrong")))
          .isInstanceOf(WrongKeyException.class);
    }
    for (int n = 0; n < KekCache.MAX_ENTRIES + 5; n++) {
      KekCache.derive(Argon2Params.TESTING, new byte[16], ("p" + n).toCharArray());
    }
    assertThat(KekCache.size()).as("bounded").isEqualTo(KekCache.MAX_ENTRIES);
    try (Repository repo = Repository.open(store, TestRepos.passphrase("right"))) {
      assertThat(repo.readChunk(id)).isEqualTo(data);
    }
  }
}
