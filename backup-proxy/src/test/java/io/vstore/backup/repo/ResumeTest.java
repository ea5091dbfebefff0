package io.vstore.backup.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * A session killed mid-way keeps what reached an index object: the next session finds those chunks
 * with hasChunk and sends only the rest.
 */
class ResumeTest {
  @Test
  void anInterruptedSessionsIndexedPacksAreNotSentAgain() throws Exception {
    ObjectStore mem = TestRepos.memoryStore();
    Repository.init(mem, null, TestRepos.options()).close();
    int chunks = 400; // random 16 KiB chunks, ~4 per 64 KiB pack: well over INDEX_EVERY_PACKS packs
    // Crash a few puts after the first automatic index object.
    CrashConsistencyTest.FailingStore crashing = new CrashConsistencyTest.FailingStore(mem,
        PackSink.INDEX_EVERY_PACKS + 1 + 3);
    try (Repository repo = Repository.open(crashing, null, TestRepos.options())) {
      assertThatThrownBy(() -> {
        try (ChunkSink sink = repo.openSink()) {
          for (int i = 0; i < chunks; i++) {
            ByteBuffer data = TestRepos.chunk(2L * i + 1, TestRepos.CHUNK);
            sink.add(repo.chunkId(data), data);
          }
        }
      }).isInstanceOf(IOException.class).hasMessageContaining("simulated crash");
    }
    try (Repository repo = Repository.open(mem, null, TestRepos.options())) {
      long kept = repo.chunkCount();
      assertThat(kept).isGreaterThanOrEqualTo(PackSink.INDEX_EVERY_PACKS).isLessThan(chunks);
      long sent = 0;
      try (ChunkSink sink = repo.openSink()) {
        for (int i = 0; i < chunks; i++) {
          ByteBuffer data = TestRepos.chunk(2L * i + 1, TestRepos.CHUNK);
          sent += sink.add(repo.chunkId(data), data) ? 1 : 0;
        }
      }
      assertThat(sent).isEqualTo(chunks - kept);
      assertThat(repo.check().ok()).isTrue();
      for (int i = 0; i < chunks; i++) {
        ByteBuffer data = TestRepos.chunk(2L * i + 1, TestRepos.CHUNK);
        assertThat(repo.readChunk(repo.chunkId(data))).isEqualTo(data);
      }
    }
  }
}
