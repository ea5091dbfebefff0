package io.vstore.backup.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.store.ObjectStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RepositoryRoundTripTest {
  @TempDir
  Path dir;

  private Repository init(ObjectStore store, boolean encrypted) throws Exception {
    return Repository.init(store, encrypted ? TestRepos.passphrase("secret") : null, TestRepos.options());
  }

  private Repository reopen(ObjectStore store, boolean encrypted) throws Exception {
    return Repository.open(store, encrypted ? TestRepos.passphrase("secret") : null, TestRepos.options());
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void chunksAndPointsSurviveReopen(boolean encrypted) throws Exception {
    ObjectStore store = TestRepos.store(dir);
    long size = 40L * TestRepos.CHUNK + 1000;
    List<ChunkId> ids = new ArrayList<>();
    PointInfo info;
    try (Repository repo = init(store, encrypted)) {
      assertThat(repo.config().encrypted()).isEqualTo(encrypted);
      PointWriter w = repo.newPoint(size, null);
      try (ChunkSink sink = repo.openSink()) {
        for (int i = 0; i < 41; i++) {
          int len = i == 40 ? 1000 : TestRepos.CHUNK;
          ByteBuffer data = TestRepos.chunk(i % 30, len);
          ChunkId id = repo.chunkId(data);
          sink.add(id, data);
          ids.add(id);
          if (i % 7 != 3) {
            w.set(i, id, len);
          }
        }
        info = w.commit(new PointMeta("vol1", "volume", null, "c1", Instant.parse("2026-01-01T00:00:00Z"),
            List.of("t"), size), sink);
        assertThat(sink.stats().chunks()).isEqualTo(31);
        assertThat(sink.stats().duplicateChunks()).isEqualTo(10);
      }
    }
    try (Repository repo = reopen(store, encrypted)) {
      assertThat(repo.points()).extracting(PointInfo::id).containsExactly(info.id());
      try (PointReader r = repo.openPoint(info.id().substring(0, 5))) {
        assertThat(r.size()).isEqualTo(size);
        for (int i = 0; i < 41; i++) {
          ChunkRef ref = r.chunk(i);
          if (i % 7 == 3) {
            assertThat(ref).isNull();
            continue;
          }
          assertThat(ref.id()).isEqualTo(ids.get(i));
          ByteBuffer expected = TestRepos.chunk(i % 30, ref.plainLength());
          assertThat(repo.readChunk(ref.id())).isEqualTo(expected);
        }
        List<Long> seen = new ArrayList<>();
        r.forEach(0, r.chunkCount(), ref -> seen.add(ref.chunkIndex()));
        assertThat(seen).hasSize(41 - 6).doesNotContain(3L, 10L, 17L);
      }
      assertThat(repo.check().problems()).isEmpty();
      assertThat(repo.verify(100).problems()).isEmpty();
      assertThat(repo.verify(100).chunks()).isEqualTo(31);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void sinksFromManyThreadsDedupAcrossSinks(boolean encrypted) throws Exception {
    ObjectStore store = TestRepos.store(dir);
    try (Repository repo = init(store, encrypted)) {
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try (ChunkSink sink = repo.openSink()) {
        List<Future<Boolean>> fs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          int seed = i % 100;
          fs.add(pool.submit(() -> {
            ByteBuffer data = TestRepos.chunk(seed, TestRepos.CHUNK);
            return sink.add(repo.chunkId(data), data);
          }));
        }
        long added = 0;
        for (Future<Boolean> f : fs) {
          added += f.get() ? 1 : 0;
        }
        assertThat(added).isEqualTo(100);
      } finally {
        pool.shutdown();
      }
      try (ChunkSink second = repo.openSink()) {
        ByteBuffer data = TestRepos.chunk(5, TestRepos.CHUNK);
        assertThat(second.add(repo.chunkId(data), data)).isFalse();
      }
    }
    try (Repository repo = reopen(store, encrypted)) {
      assertThat(repo.chunkCount()).isEqualTo(100);
      for (int i = 0; i < 100; i++) {
        ByteBuffer data = TestRepos.chunk(i, TestRepos.CHUNK);
        assertThat(repo.readChunk(repo.chunkId(data))).isEqualTo(data);
      }
      assertThat(repo.verify(100).ok()).isTrue();
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void wrongKeyIsOneClearLine(boolean keyFile) throws Exception {
    ObjectStore store = TestRepos.store(dir);
    KeySource right = keyFile ? new KeySource.KeyFile(new byte[32]) : TestRepos.passphrase("right");
    KeySource wrong = keyFile ? new KeySource.KeyFile(TestRepos.chunk(1, 40).array()) : TestRepos.passphrase("wrong");
    Repository.init(store, right, TestRepos.options()).close();
    assertThatThrownBy(() -> Repository.open(store, wrong)).isInstanceOf(WrongKeyException.class)
        .hasMessage("wrong passphrase or key for repository " + store);
    assertThatThrownBy(() -> Repository.open(store, null)).isInstanceOf(WrongKeyException.class)
        .hasMessageContaining("is encrypted");
    Repository.open(store, right).close();
  }
}
