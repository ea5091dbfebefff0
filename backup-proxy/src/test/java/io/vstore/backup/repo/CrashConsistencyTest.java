package io.vstore.backup.repo;

import io.vstore.backup.store.ForwardingObjectStore;
import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.backup.store.ObjectInfo;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The store fails after N puts (a crash at that moment: what was put is durable, nothing after);
 * afterwards the repository opens, check is clean and every completed point reads back exactly.
 * Every N up to the run's total number of puts.
 */
class CrashConsistencyTest {
  /** An ObjectStore that fails every put after the first {@code allowed}. */
  static final class FailingStore extends ForwardingObjectStore {
    private final AtomicInteger allowed;

    FailingStore(ObjectStore inner, int allowed) {
      super(inner);
      this.allowed = new AtomicInteger(allowed);
    }

    @Override
    public boolean putIfAbsent(String key, ByteBuffer data) throws IOException {
      if (allowed.getAndDecrement() <= 0) {
        throw new IOException("simulated crash before put of " + key);
      }
      return delegate.putIfAbsent(key, data);
    }
  }

  @Test
  void aCrashAtAnyPutLeavesAConsistentRepository() throws Exception {
    boolean ci = "true".equals(System.getenv("CI"));
    int total = Integer.MAX_VALUE;
    for (int n = 0; n <= total; n += ci ? 3 : 1) {
      ObjectStore mem = TestRepos.memoryStore();
      FailingStore failing = new FailingStore(mem, Integer.MAX_VALUE);
      Repository.init(failing, TestRepos.passphrase("k"), TestRepos.options()).close();
      FailingStore crashing = new FailingStore(mem, n);
      Map<String, Map<Long, Long>> completed = new HashMap<>();
      long size = 40L * TestRepos.CHUNK;
      boolean finished = false;
      try (Repository repo = Repository.open(crashing, TestRepos.passphrase("k"), TestRepos.options())) {
        Random r = new Random(n);
        Map<Long, Long> model = new HashMap<>();
        PointReader base = null;
        for (int point = 0; point < 3; point++) {
          PointWriter w = repo.newPoint(size, base);
          try (ChunkSink sink = repo.openSink()) {
            for (int op = 0; op < 15; op++) {
              long i = r.nextInt(40);
              long content = r.nextInt(1000);
              ByteBuffer data = TestRepos.chunk(content, TestRepos.CHUNK);
              ChunkId id = repo.chunkId(data);
              sink.add(id, data);
              w.set(i, id, TestRepos.CHUNK);
              model.put(i, content);
            }
            PointInfo info = w.commit(new PointMeta("v", "volume", null, null, Instant.now(), List.of(), 0), sink);
            completed.put(info.id(), new HashMap<>(model));
            base = repo.openPoint(info.id());
          }
        }
        finished = true;
      } catch (IOException e) {
        assertThat(e.getMessage()).contains("simulated crash");
      }
      try (Repository repo = Repository.open(mem, TestRepos.passphrase("k"), TestRepos.options())) {
        RepositoryReport report = repo.check();
        assertThat(report.problems()).as("crash after %d puts", n).isEmpty();
        assertThat(repo.points()).extracting(PointInfo::id).as("crash after %d puts", n)
            .containsExactlyInAnyOrderElementsOf(completed.keySet());
        for (Map.Entry<String, Map<Long, Long>> e : completed.entrySet()) {
          try (PointReader reader = repo.openPoint(e.getKey())) {
            for (Map.Entry<Long, Long> c : e.getValue().entrySet()) {
              ChunkRef ref = reader.chunk(c.getKey());
              assertThat(repo.readChunk(ref.id())).isEqualTo(TestRepos.chunk(c.getValue(), TestRepos.CHUNK));
            }
          }
        }
        assertThat(repo.verify(100).problems()).isEmpty();
      }
      if (finished) {
        break;
      }
    }
  }
}
