package io.vstore.backup.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Seeded random chunk sequences (runs of adjacent chunks, holes between them, chunks out of order,
 * a short last chunk) through a {@link RunWriter}: the target holds exactly the chunks added, no page
 * of a hole is written, and every chunk is reported written once, only after its write.
 */
class RunWriterTest {
  private static final int CHUNK = 16 * 1024;

  @Test
  void writesExactlyTheChunksAddedAndNeverAHole() throws Exception {
    long base = Long.getLong("vstore.seed", new Random().nextLong());
    for (int s = 0; s < 20; s++) {
      long seed = base + s;
      Random r = new Random(seed);
      int chunks = 1 + r.nextInt(600);
      long size = (long) (chunks - 1) * CHUNK + 1 + r.nextInt(CHUNK);
      MemoryBlockDevice target = new MemoryBlockDevice("target", size);
      Map<Long, byte[]> model = new HashMap<>();
      List<Long> reported = new ArrayList<>();
      int step = 0;
      try (RunWriter w = new RunWriter(target, CHUNK, (first, n, bytes) -> {
        long expect = 0;
        for (long c = first; c < first + n; c++) {
          assertThat(target.pages()).as("chunk " + c + " reported before its write").containsKey(c * CHUNK / 4096);
          reported.add(c);
          expect += model.get(c).length;
        }
        assertThat(bytes).isEqualTo(expect);
      })) {
        long c = r.nextInt(3);
        while (c < chunks) {
          step++;
          if (!model.containsKey(c)) {
            int len = (int) Math.min(CHUNK, size - c * CHUNK);
            byte[] data = new byte[len];
            r.nextBytes(data);
            data[0] = 1; // never all zeros: a page of it is a written page
            model.put(c, data);
            ByteBuffer b = ByteBuffer.wrap(data);
            w.add(c, b);
            assertThat(b.position()).isZero();
          }
          int move = r.nextInt(10);
          c = move < 6 ? c + 1 : move < 8 ? c + 2 + r.nextInt(5) : Math.max(0, c - r.nextInt(8)) + (move == 9 ? 30 : 0);
          if (r.nextInt(40) == 0) {
            w.flush();
          }
        }
        w.flush();
      } catch (Exception | AssertionError e) {
        throw new AssertionError("seed " + seed + " step " + step + ": " + e.getMessage(), e);
      }
      assertThat(reported).as("seed " + seed).doesNotHaveDuplicates();
      assertThat(new HashSet<>(reported)).as("seed " + seed).isEqualTo(model.keySet());
      Set<Long> pages = new HashSet<>();
      for (long chunk : model.keySet()) {
        long end = Math.min(size, (chunk + 1) * CHUNK);
        for (long p = chunk * CHUNK / 4096; p * 4096 < end; p++) {
          pages.add(p);
        }
      }
      assertThat(target.pages().keySet()).as("seed " + seed + ": pages written (holes must stay holes)")
          .isEqualTo(pages);
      for (Map.Entry<Long, byte[]> e : model.entrySet()) {
        ByteBuffer got = ByteBuffer.allocate(e.getValue().length);
        target.read(e.getKey() * CHUNK, got);
        assertThat(got.array()).as("seed " + seed + " chunk " + e.getKey()).isEqualTo(e.getValue());
      }
    }
  }
}
