package io.vstore.backup.maint;

import io.vstore.backup.store.ForwardingObjectStore;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.vstore.backup.crypto.Argon2Params;
import io.vstore.backup.repo.ChunkId;
import io.vstore.backup.repo.ChunkPlace;
import io.vstore.backup.repo.ChunkRef;
import io.vstore.backup.repo.ChunkSink;
import io.vstore.backup.repo.KeySource;
import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.PointMeta;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.PointWriter;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryMaintenance;
import io.vstore.backup.repo.RepositoryOptions;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.backup.store.ObjectInfo;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The chunk index a process keeps across openings (as the daemon does across jobs) against the
 * repository's index objects as they are: seeded random backups (incremental on the newest point of
 * their source), point deletions and gcs (which rewrite and delete index objects and delete packs),
 * each in a repository opened anew in this process. After every step a new opening's index is
 * exactly what the index objects say (same chunk count, every chunk at the place the first object
 * naming it gives), every live point restores byte for byte, and an opening with nothing changed
 * since the previous one, or after a backup (whose sink's index objects are kept as written), reads no
 * index object (the cache is used, not bypassed).
 */
final class IndexCacheGcModelTest {
  private static final int CHUNK = RepositoryOptions.MIN_CHUNK;
  private static final int CHUNKS = 40;
  private static final long SIZE = (long) CHUNKS * CHUNK - 333;
  private static final String[] SOURCES = {"vm1/disk0", "vm2/disk0"};

  @Test
  void anIndexKeptAcrossOpeningsFollowsGcAndRestoresExactly() throws Exception {
    boolean ci = System.getenv("CI") != null;
    int seeds = ci ? 2 : 4;
    int steps = ci ? 30 : 50;
    long base = Long.getLong("vstore.seed", new Random().nextLong());
    int gcsThatDeletedIndexObjects = 0;
    for (int s = 0; s < seeds; s++) {
      Model m = new Model(base + s, steps);
      try {
        m.run();
      } catch (Throwable t) {
        throw new AssertionError("seed " + m.seed + " (-Dvstore.seed=" + m.seed + "), step " + m.step + ": "
            + t.getMessage(), t);
      }
      gcsThatDeletedIndexObjects += m.gcsThatDeletedIndexObjects;
    }
    assertThat(gcsThatDeletedIndexObjects).as("gcs that deleted index objects between openings").isPositive();
  }

  /** One seeded run on one repository. */
  private static final class Model {
    final long seed;
    final Random rnd;
    final int steps;
    final CountingStore store;
    final KeySource key;
    final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    final Map<String, Map<Long, Long>> points = new LinkedHashMap<>(); // point -> chunk index -> content
    final Map<String, String> newest = new HashMap<>(); // source -> newest point
    int step;
    int processes;
    int gcsThatDeletedIndexObjects;

    Model(long seed, int steps) throws IOException {
      this.seed = seed;
      this.rnd = new Random(seed);
      this.steps = steps;
      this.store = new CountingStore(DirectoryStore.open(Jimfs.newFileSystem(Configuration.unix()).getPath("/r")));
      this.key = rnd.nextBoolean() ? new KeySource.Passphrase("cache".toCharArray()) : null;
    }

    Repository open() throws IOException {
      return Repository.open(store, key, RepositoryOptions.defaults().withArgon2(Argon2Params.TESTING)
          .withPackTargetBytes(40 * 1024));
    }

    RepositoryLocks locks() {
      int n = ++processes;
      return new RepositoryLocks(store, new ProcessIdentity("host-" + n, "p" + n, 2000 + n, 1), clock,
          Duration.ofSeconds(60));
    }

    void run() throws Exception {
      Repository.init(store, key, RepositoryOptions.defaults().withChunkSize(CHUNK)
          .withArgon2(Argon2Params.TESTING).withPackTargetBytes(40 * 1024)).close();
      for (step = 0; step < steps; step++) {
        clock.advance(Duration.ofMinutes(10)); // every earlier gc round is due: collects happen too
        int op = rnd.nextInt(10);
        if (op < 5 || points.isEmpty()) {
          backup(SOURCES[rnd.nextInt(SOURCES.length)]);
        } else if (op < 7) {
          List<String> ids = new ArrayList<>(points.keySet());
          String id = ids.get(rnd.nextInt(ids.size()));
          try (Repository repo = open()) {
            repo.deletePoint(id);
          }
          points.remove(id);
          newest.values().remove(id);
        } else {
          List<String> before = indexKeys();
          try (Repository repo = open()) {
            new GarbageCollector(repo, locks(), clock).run(false);
          }
          if (!indexKeys().containsAll(before)) {
            gcsThatDeletedIndexObjects++;
          }
        }
        checkIndexAndRestores();
      }
    }

    void backup(String source) throws IOException {
      try (Repository repo = open()) {
        String baseId = newest.get(source);
        Map<Long, Long> model = baseId == null ? new HashMap<>() : new HashMap<>(points.get(baseId));
        try (PointReader base = baseId == null ? null : repo.openPoint(baseId); ChunkSink sink = repo.openSink()) {
          PointWriter w = repo.newPoint(SIZE, base);
          int writes = 1 + rnd.nextInt(baseId == null ? CHUNKS : 8);
          for (int i = 0; i < writes; i++) {
            long chunk = rnd.nextInt(CHUNKS);
            if (rnd.nextInt(6) == 0) {
              w.clear(chunk);
              model.remove(chunk);
              continue;
            }
            long content = rnd.nextInt(4) == 0 ? rnd.nextLong() : rnd.nextInt(30); // new data, or shared
            int len = (int) Math.min(CHUNK, SIZE - chunk * CHUNK);
            ByteBuffer data = chunk(content, len);
            ChunkId id = repo.chunkId(data);
            sink.add(id, data);
            w.set(chunk, id, len);
            model.put(chunk, content);
          }
          PointInfo info = w.commit(new PointMeta(source, "volume", null, "c" + step, clock.instant(), List.of(), 0),
              sink);
          points.put(info.id(), model);
          newest.put(source, info.id());
        }
      }
      int reads = store.indexGets.get();
      try (Repository repo = open()) {
        repo.chunkCount();
      }
      assertThat(store.indexGets.get() - reads).as("index objects read by the opening after a backup (its sink's"
          + " objects are kept as written)").isZero();
    }

    /** Compares a new opening's index with the index objects, restores every point, then opens again. */
    void checkIndexAndRestores() throws IOException {
      Map<ChunkId, ChunkPlace> expected = new HashMap<>();
      try (Repository repo = open()) {
        RepositoryMaintenance maint = new RepositoryMaintenance(repo);
        for (String k : maint.indexKeys()) {
          maint.readIndex(k, e -> expected.putIfAbsent(e.id(), new ChunkPlace(e.id(),
              RepositoryMaintenance.packKey(e.packId()), e.offset(), e.storedLength(), e.plainLength())));
        }
      }
      try (Repository repo = open()) {
        assertThat(repo.chunkCount()).as("chunks in the index").isEqualTo(expected.size());
        for (ChunkPlace want : expected.values()) {
          assertThat(repo.place(want.id())).as("place of chunk " + want.id().hex()).isEqualTo(want);
        }
        for (Map.Entry<String, Map<Long, Long>> p : points.entrySet()) {
          try (PointReader r = repo.openPoint(p.getKey())) {
            for (long c = 0; c < CHUNKS; c++) {
              ChunkRef ref = r.chunk(c);
              Long content = p.getValue().get(c);
              assertThat(ref != null).as("point " + p.getKey() + " chunk " + c + " present").isEqualTo(content != null);
              if (ref != null) {
                assertThat(repo.readChunk(ref.id())).as("point " + p.getKey() + " chunk " + c)
                    .isEqualTo(chunk(content, ref.plainLength()));
              }
            }
          }
        }
      }
      int reads = store.indexGets.get();
      try (Repository repo = open()) {
        assertThat(repo.chunkCount()).isEqualTo(expected.size());
      }
      assertThat(store.indexGets.get() - reads).as("index objects read by an opening with nothing changed")
          .isZero();
    }

    List<String> indexKeys() throws IOException {
      try (Repository repo = open()) {
        return new RepositoryMaintenance(repo).indexKeys();
      }
    }
  }

  private static ByteBuffer chunk(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    if ((seed & 1) == 0) {
      for (int i = 0; i < length; i += 3) {
        b[i] = 'x'; // compressible
      }
    }
    return ByteBuffer.wrap(b);
  }

  /** A store that counts the index objects read from it; same location (toString) as the store it wraps. */
  private static final class CountingStore extends ForwardingObjectStore {
    final AtomicInteger indexGets = new AtomicInteger();

    CountingStore(ObjectStore store) {
      super(store);
    }

    @Override
    public byte[] get(String key) throws IOException {
      if (key.startsWith("index/")) {
        indexGets.incrementAndGet();
      }
      return delegate.get(key);
    }
  }
}
