package io.vstore.backup.repo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Seeded random put/reserve/remove against a HashMap model, with ids crowded into few home slots. */
class ChunkIndexTest {
  @Test
  void matchesAModel() {
    int rounds = "true".equals(System.getenv("CI")) ? 3 : 8;
    for (int round = 0; round < rounds; round++) {
      long seed = new Random().nextLong();
      Random r = new Random(seed);
      ChunkIndex index = new ChunkIndex();
      Map<ChunkId, int[]> model = new HashMap<>();
      List<ChunkId> known = new ArrayList<>();
      byte[] pack = new byte[16];
      int steps = 20_000;
      for (int step = 0; step < steps; step++) {
        String where = "seed " + seed + " step " + step;
        int op = r.nextInt(10);
        ChunkId id;
        if (known.isEmpty() || r.nextInt(3) == 0) {
          byte[] b = new byte[32];
          r.nextBytes(b);
          // Few distinct first words: long probe runs, so deletion must shift entries back correctly.
          b[0] = 0;
          b[1] = 0;
          b[2] = 0;
          b[3] = 0;
          b[4] = 0;
          b[5] = 0;
          b[6] = (byte) r.nextInt(4);
          b[7] = (byte) r.nextInt(8);
          id = ChunkId.of(b);
          known.add(id);
        } else {
          id = known.get(r.nextInt(known.size()));
        }
        if (op < 4) {
          int off = r.nextInt(1 << 20) + 8;
          index.putIfAbsent(pack, id, off, 100, 200);
          model.putIfAbsent(id, new int[] {off});
        } else if (op < 6) {
          boolean added = index.reserve(id);
          assertThat(added).as(where).isEqualTo(!model.containsKey(id));
          model.putIfAbsent(id, new int[] {-1});
        } else if (op < 9) {
          index.remove(id);
          model.remove(id);
        } else {
          ChunkIndex.Location loc = index.get(id);
          int[] m = model.get(id);
          if (m == null) {
            assertThat(loc).as(where).isNull();
          } else if (m[0] == -1) {
            assertThat(loc.packNumber()).as(where).isEqualTo(ChunkIndex.RESERVED);
          } else {
            assertThat(loc.offset()).as(where).isEqualTo(m[0]);
          }
        }
        assertThat(index.size()).as(where).isEqualTo(model.size());
      }
      for (ChunkId id : known) {
        assertThat(index.contains(id)).as("seed " + seed + " final").isEqualTo(model.containsKey(id));
      }
    }
  }
}
