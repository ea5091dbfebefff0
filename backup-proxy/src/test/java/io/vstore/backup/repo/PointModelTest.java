package io.vstore.backup.repo;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.backup.store.ObjectStore;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Seeded random set/clear/commit sequences against a model map; every committed point is re-read
 * (chunk by chunk and by forEach) and compared with the model of its time. Small pages (the test
 * repository uses 16 KiB chunks; pages hold 8,192 of them, so the volumes span several pages).
 */
class PointModelTest {
  private static int iterations() {
    return "true".equals(System.getenv("CI")) ? 2 : 4;
  }

  @Test
  void pointsWithBasesMatchTheModel() throws Exception {
    for (int it = 0; it < iterations(); it++) {
      long seed = new Random().nextLong();
      try {
        run(seed, TestRepos.memoryStore(), it % 2 == 1);
      } catch (Throwable t) {
        throw new AssertionError("seed " + seed + ": " + t.getMessage(), t);
      }
    }
  }

  private void run(long seed, ObjectStore store, boolean encrypted) throws Exception {
    Random r = new Random(seed);
    long chunks = 8192L * 2 + 1 + r.nextInt(3000);
    long size = (chunks - 1) * TestRepos.CHUNK + 1 + r.nextInt(TestRepos.CHUNK);
    try (Repository repo = Repository.init(store, encrypted ? TestRepos.passphrase("p") : null, TestRepos.options())) {
      Map<Long, Long> model = new HashMap<>(); // chunk index -> content seed
      List<PointInfo> points = new ArrayList<>();
      List<Map<Long, Long>> models = new ArrayList<>();
      PointReader base = null;
      for (int step = 0; step < 6; step++) {
        PointWriter w = repo.newPoint(size, base);
        try (ChunkSink sink = repo.openSink()) {
          int ops = 1 + r.nextInt(step == 0 ? 400 : 60);
          for (int op = 0; op < ops; op++) {
            long i = r.nextInt(10) < 7 ? (long) (r.nextDouble() * chunks) : chunks - 1 - r.nextInt(5);
            if (r.nextInt(5) == 0) {
              w.clear(i);
              model.remove(i);
            } else {
              long content = r.nextInt(50);
              int len = (int) Math.min(TestRepos.CHUNK, size - i * TestRepos.CHUNK);
              ByteBuffer data = TestRepos.chunk(content, len);
              ChunkId id = repo.chunkId(data);
              sink.add(id, data);
              w.set(i, id, len);
              model.put(i, content);
            }
          }
          PointInfo info = w.commit(new PointMeta("v", "volume", null, "s" + step,
              Instant.ofEpochSecond(1_700_000_000L + step), List.of(), 0), sink);
          points.add(info);
          models.add(new HashMap<>(model));
          assertThat(info.base()).isEqualTo(base == null ? null : base.info().id());
        }
        if (base != null) {
          base.close();
        }
        base = repo.openPoint(points.getLast().id());
      }
      base.close();
      assertThat(repo.points()).extracting(PointInfo::id).containsExactlyElementsOf(
          points.stream().map(PointInfo::id).toList());
      for (int p = 0; p < points.size(); p++) {
        compare(repo, points.get(p), models.get(p), size, "point " + p);
      }
      assertThat(repo.check().problems()).isEmpty();
    }
  }

  private static void compare(Repository repo, PointInfo info, Map<Long, Long> model, long size, String what)
      throws Exception {
    try (PointReader r = repo.openPoint(info.id())) {
      long bytes = 0;
      for (Map.Entry<Long, Long> e : new java.util.TreeMap<>(model).entrySet()) {
        ChunkRef ref = r.chunk(e.getKey());
        assertThat(ref).as(what + " chunk " + e.getKey()).isNotNull();
        ByteBuffer expected = TestRepos.chunk(e.getValue(), ref.plainLength());
        assertThat(repo.readChunk(ref.id())).as(what + " chunk " + e.getKey()).isEqualTo(expected);
        bytes += ref.plainLength();
      }
      assertThat(info.bytes()).as(what + " bytes").isEqualTo(bytes);
      List<Long> seen = new ArrayList<>();
      r.forEach(0, r.chunkCount(), ref -> seen.add(ref.chunkIndex()));
      assertThat(seen).as(what + " forEach").containsExactlyElementsOf(model.keySet().stream().sorted().toList());
    }
  }
}
