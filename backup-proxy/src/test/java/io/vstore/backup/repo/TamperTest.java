package io.vstore.backup.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Flips, truncates and replaces with garbage each kind of object; check, verify, open and reads name
 * the object and never return wrong data.
 */
class TamperTest {
  private ObjectStore store;
  private boolean encrypted;
  private final List<ChunkId> ids = new ArrayList<>();
  private String pointId;

  private void build(boolean enc) throws Exception {
    encrypted = enc;
    store = TestRepos.memoryStore();
    long size = 6L * TestRepos.CHUNK;
    try (Repository repo = Repository.init(store, key(), TestRepos.options())) {
      if (enc) {
        repo.keys().add(TestRepos.passphrase("other"), "second", io.vstore.backup.crypto.Argon2Params.TESTING);
      }
      PointWriter w = repo.newPoint(size, null);
      try (ChunkSink sink = repo.openSink()) {
        for (int i = 0; i < 6; i++) {
          ByteBuffer data = TestRepos.chunk(i, TestRepos.CHUNK);
          ChunkId id = repo.chunkId(data);
          sink.add(id, data);
          w.set(i, id, TestRepos.CHUNK);
          ids.add(id);
        }
        pointId = w.commit(new PointMeta("v", "volume", null, null, Instant.now(), List.of(), 0), sink).id();
      }
    }
  }

  private KeySource key() {
    return encrypted ? TestRepos.passphrase("secret") : null;
  }

  private Repository open() throws IOException {
    return Repository.open(store, key());
  }

  private List<String> keys(String prefix) throws IOException {
    List<String> out = new ArrayList<>();
    store.list(prefix, o -> out.add(o.key()));
    out.sort(null);
    return out;
  }

  private void replace(String key, UnaryOperator<byte[]> change) throws IOException {
    byte[] obj = change.apply(store.get(key));
    store.delete(key);
    store.putIfAbsent(key, ByteBuffer.wrap(obj));
  }

  private static UnaryOperator<byte[]> flip(int fromEnd) {
    return b -> {
      int at = fromEnd >= 0 ? b.length - 1 - fromEnd : b.length / 2;
      b[at] ^= 0x10;
      return b;
    };
  }

  private static final UnaryOperator<byte[]> TRUNCATE = b -> java.util.Arrays.copyOf(b, b.length / 2);
  private static final UnaryOperator<byte[]> GARBAGE = b -> {
    new Random(b.length).nextBytes(b);
    return b;
  };

  /** Checks every chunk reads back right or fails naming something, never returning other bytes. */
  private void readsAreRightOrFail(Repository repo) {
    for (int i = 0; i < ids.size(); i++) {
      try {
        assertThat(repo.readChunk(ids.get(i))).isEqualTo(TestRepos.chunk(i, TestRepos.CHUNK));
      } catch (IOException e) {
        assertThat(e).isInstanceOf(CorruptObjectException.class).hasMessageStartingWith("bad backup repository:");
      }
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void packBlob(boolean enc) throws Exception {
    build(enc);
    String pack = keys("data/").getFirst();
    replace(pack, b -> {
      b[PackTrailer.HEADER_BYTES + 40] ^= 1;
      return b;
    });
    try (Repository repo = open()) {
      assertThat(repo.verify(100).problems()).anySatisfy(p -> assertThat(p.object()).isEqualTo(pack));
      assertThatThrownBy(() -> {
        for (ChunkId id : ids) {
          repo.readChunk(id);
        }
      }).isInstanceOf(CorruptObjectException.class).hasMessageContaining(pack);
      readsAreRightOrFail(repo);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void packTrailer(boolean enc) throws Exception {
    for (UnaryOperator<byte[]> change : List.of(flip(10), flip(0), flip(100))) {
      build(enc);
      String pack = keys("data/").getFirst();
      replace(pack, change);
      try (Repository repo = open()) {
        assertThat(repo.check().problems()).anySatisfy(p -> assertThat(p.object()).isEqualTo(pack));
        assertThat(repo.verify(100).problems()).anySatisfy(p -> assertThat(p.object()).isEqualTo(pack));
        readsAreRightOrFail(repo);
      }
      ids.clear();
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void indexManifestAndPage(boolean enc) throws Exception {
    for (String prefix : List.of("index/", "points/", "pages/")) {
      for (UnaryOperator<byte[]> change : List.of(flip(-1), TRUNCATE, GARBAGE)) {
        build(enc);
        String key = keys(prefix).getFirst();
        replace(key, change);
        try (Repository repo = open()) {
          assertThat(repo.check().problems()).as(key).anySatisfy(p -> assertThat(p.object()).isEqualTo(key));
          readsAreRightOrFail(repo);
          if (!prefix.equals("index/")) {
            assertThatThrownBy(() -> {
              try (PointReader r = repo.openPoint(pointId)) {
                r.forEach(0, r.chunkCount(), ref -> {});
              }
            }).isInstanceOf(CorruptObjectException.class).hasMessageContaining(prefix);
          }
        }
        ids.clear();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void truncatedAndGarbagePacks(boolean enc) throws Exception {
    for (UnaryOperator<byte[]> change : List.of(TRUNCATE, GARBAGE, b -> java.util.Arrays.copyOf(b, 3))) {
      build(enc);
      String pack = keys("data/").getFirst();
      replace(pack, change);
      try (Repository repo = open()) {
        assertThat(repo.check().problems()).anySatisfy(p -> assertThat(p.object()).isEqualTo(pack));
        assertThat(repo.verify(100).problems()).anySatisfy(p -> assertThat(p.object()).isEqualTo(pack));
        readsAreRightOrFail(repo);
      }
      ids.clear();
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void config(boolean enc) throws Exception {
    for (UnaryOperator<byte[]> change : List.of(flip(-1), TRUNCATE, GARBAGE)) {
      build(enc);
      replace("config", change);
      assertThatThrownBy(this::open).isInstanceOf(CorruptObjectException.class).hasMessageContaining("config");
      ids.clear();
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void key(boolean truncate) throws Exception {
    build(true);
    List<String> keyObjects = keys("keys/");
    for (String k : keyObjects) {
      // Damage the key "secret" opens; the other key still opens the repository.
      byte[] original = store.get(k);
      replace(k, truncate ? TRUNCATE : flip(-1));
      try (Repository repo = open()) {
        assertThat(repo.check().problems()).anySatisfy(p -> assertThat(p.object()).isEqualTo(k));
        store.delete(k);
        store.putIfAbsent(k, ByteBuffer.wrap(original));
        continue;
      } catch (WrongKeyException e) {
        assertThat(e).hasMessageContaining(k);
        store.delete(k);
        store.putIfAbsent(k, ByteBuffer.wrap(original));
      }
    }
    open().close();
  }
}
