package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.ModelRun;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link PackedRows} against a sorted map of rows: puts of new and existing keys, removes, and
 * values that force re-layouts (from a narrow range at first to full 64-bit values), every row
 * and field compared every 64 steps (the changed row after each).
 */
class PackedRowsTest {
  private static final int FIELDS = 5;
  private static final int KEY_BITS = 9;
  private static final int STEPS = System.getenv("CI") != null ? 2_000 : 6_000;

  static LongStream seeds() {
    return ModelRun.seeds(16);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void rowsAgreeWithTheModel(long seed) {
    ModelRun.run(seed, run -> {
      Random r = run.random();
      TreeMap<Integer, long[]> model = new TreeMap<>();
      int initial = r.nextInt(40);
      for (int i = 0; i < initial; i++) {
        long[] row = randomRow(r, r.nextInt(1 << KEY_BITS), 8);
        model.put((int) row[0], row);
      }
      long[][] values = model.values().toArray(long[][]::new);
      PackedRows rows = new PackedRows(FIELDS, KEY_BITS, values, values.length, Math.max(2, values.length));
      compare(rows, model);
      for (int step = 0; step < STEPS; step++) {
        int key = r.nextInt(1 << KEY_BITS);
        if (r.nextInt(4) == 0) {
          run.step(step, "remove " + key);
          rows.remove(key);
          model.remove(key);
        } else {
          // Ranges widen as the run goes on, as generations and segments do.
          long[] row = randomRow(r, key, 1 + Math.min(63, step / (STEPS / 64)));
          run.step(step, "put " + java.util.Arrays.toString(row));
          rows.put(row);
          model.put(key, row);
        }
        int at = rows.find(key);
        assertThat(at >= 0).isEqualTo(model.containsKey(key));
        for (int f = 1; at >= 0 && f < FIELDS; f++) {
          assertThat(rows.get(at, f)).isEqualTo(model.get(key)[f]);
        }
        if (step % 64 == 0) {
          compare(rows, model);
        }
      }
      run.finish("final comparison");
      compare(rows, model);
    });
  }

  @Test
  void scatteredExtentsTakeEightBytesARow() {
    // 512 scattered one-block entries: a handful of segments, offsets in 256 MiB, nearby generations.
    Random r = new Random(7);
    long[][] values = new long[256][];
    for (int i = 0; i < values.length; i++) {
      values[i] = new long[] {2 * i, 0, 1, 0, 40 + r.nextInt(60), r.nextInt(256 << 20), 1000 + r.nextInt(200)};
    }
    PackedRows rows = new PackedRows(7, 9, values, values.length, values.length);
    assertThat(rows.bytes() - 4L * 2 * values.length).isLessThan(300);
    for (int i = 0; i < values.length; i++) {
      for (int f = 1; f < 7; f++) {
        assertThat(rows.get(i, f)).isEqualTo(values[i][f]);
      }
    }
  }

  @Test
  void aRowOfFullWidthValuesRoundTrips() {
    long[][] values = {{3, Long.MAX_VALUE, 0, 1L << 62, 5}, {7, 0, Long.MAX_VALUE, 1, 6}};
    PackedRows rows = new PackedRows(FIELDS, KEY_BITS, values, 2, 2);
    rows.put(new long[] {5, 12345, 1L << 40, Long.MAX_VALUE, 0});
    assertThat(rows.size()).isEqualTo(3);
    assertThat(rows.get(0, 1)).isEqualTo(Long.MAX_VALUE);
    assertThat(rows.get(1, 3)).isEqualTo(Long.MAX_VALUE);
    assertThat(rows.get(2, 2)).isEqualTo(Long.MAX_VALUE);
    assertThat(rows.key(1)).isEqualTo(5);
  }

  private static long[] randomRow(Random r, int key, int bits) {
    long[] row = new long[FIELDS];
    row[0] = key;
    for (int f = 1; f < FIELDS; f++) {
      long v = r.nextLong() & Long.MAX_VALUE; // fields are never negative
      row[f] = switch (r.nextInt(4)) {
        case 0 -> 0;
        case 1 -> 1_000_000 + (v >>> (63 - Math.min(bits, 20)));
        default -> bits >= 63 ? v : v >>> (63 - bits);
      };
    }
    return row;
  }

  private static void compare(PackedRows rows, TreeMap<Integer, long[]> model) {
    assertThat(rows.size()).isEqualTo(model.size());
    int i = 0;
    for (Map.Entry<Integer, long[]> e : model.entrySet()) {
      assertThat(rows.key(i)).isEqualTo(e.getKey());
      assertThat(rows.find(e.getKey())).isEqualTo(i);
      for (int f = 1; f < FIELDS; f++) {
        assertThat(rows.get(i, f)).as("row %d field %d", i, f).isEqualTo(e.getValue()[f]);
      }
      i++;
    }
    // A missing key reports where it would go.
    for (int k = 0; k < 1 << KEY_BITS; k += 37) {
      if (!model.containsKey(k)) {
        assertThat(rows.find(k)).isEqualTo(-(model.headMap(k).size()) - 1);
      }
    }
  }
}
