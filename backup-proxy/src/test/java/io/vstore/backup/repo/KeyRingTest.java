package io.vstore.backup.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.crypto.Argon2Params;
import io.vstore.backup.store.ObjectStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyRingTest {
  @TempDir
  Path dir;

  @Test
  void addedKeysOpenTheSameDataAndRemovedKeysNoLonger() throws Exception {
    ObjectStore store = TestRepos.store(dir.resolve("repo"));
    KeySource first = TestRepos.passphrase("first");
    KeySource file = KeySource.createKeyFile(dir.resolve("key"));
    ByteBuffer data = TestRepos.chunk(3, TestRepos.CHUNK);
    ChunkId id;
    String firstId;
    try (Repository repo = Repository.init(store, first, TestRepos.options())) {
      try (ChunkSink sink = repo.openSink()) {
        id = repo.chunkId(data);
        sink.add(id, data);
      }
      firstId = repo.keys().list().getFirst().id();
      KeyInfo added = repo.keys().add(file, "laptop", Argon2Params.TESTING);
      assertThat(added.kind()).isEqualTo("key-file");
      assertThat(repo.keys().list()).extracting(KeyInfo::label).containsExactlyInAnyOrder("initial", "laptop");
    }
    try (Repository repo = Repository.open(store, KeySource.fromKeyFile(dir.resolve("key")))) {
      assertThat(repo.readChunk(id)).isEqualTo(data);
      repo.keys().remove(firstId);
      String last = repo.keys().list().getFirst().id();
      assertThatThrownBy(() -> repo.keys().remove(last)).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("last key");
    }
    assertThatThrownBy(() -> Repository.open(store, first)).isInstanceOf(WrongKeyException.class);
  }

  @Test
  void aKeyOfAnotherRepositoryDoesNotOpenThisOne() throws Exception {
    ObjectStore a = TestRepos.store(dir.resolve("a"));
    ObjectStore b = TestRepos.store(dir.resolve("b"));
    KeySource p = TestRepos.passphrase("same");
    Repository.init(a, p, TestRepos.options()).close();
    Repository.init(b, p, TestRepos.options()).close();
    String keyA = KeyRing.keyIds(a).getFirst();
    for (String k : KeyRing.keyIds(b)) {
      b.delete(KeyRing.PREFIX + k);
    }
    b.putIfAbsent(KeyRing.PREFIX + keyA, ByteBuffer.wrap(a.get(KeyRing.PREFIX + keyA)));
    assertThatThrownBy(() -> Repository.open(b, p)).isInstanceOf(WrongKeyException.class);
  }
}
