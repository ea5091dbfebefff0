package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.ModelRun;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.LongStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rocksdb.WriteBatch;

/**
 * A block map paged through a cache far too small for it, against a sorted map of its entries:
 * random overwrites (small data entries and zero entries spanning many pages), flushes staged and
 * committed out of step with the changes made since, purges, lookups of random ranges, whole-map
 * scans, and reopening from RocksDB alone. Every lookup must equal the model's, whether its pages
 * were evicted, reloaded from the rows with the overlay laid over them, or changed in memory.
 */
class PagedBlockMapModelTest {
  private static final long SPACE = 300_000; // blocks: about 600 pages
  private static final int STEPS = System.getenv("CI") != null ? 1_500 : 4_000;

  @TempDir
  Path dir;

  static LongStream seeds() {
    return ModelRun.seeds(12);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void lookupsAgreeWithTheModelWhilePagesComeAndGo(long seed) {
    ModelRun.run(seed, run -> {
      try (MetaStore meta = new MetaStore(dir.resolve("meta-" + seed), 64 << 10)) {
        oneRun(run, meta);
      }
    });
  }

  /** A staged flush whose batch is not committed yet. */
  private record InFlight(WriteBatch batch, CommitPipeline.Stage stage) {}

  private void oneRun(ModelRun run, MetaStore meta) throws Exception {
    Random r = run.random();
    BlockMap map = new BlockMap(5, meta);
    BlockMap neighbour = new BlockMap(6, meta); // its pages compete for the cache
    TreeMap<Long, MapEntry> model = new TreeMap<>();
    Deque<InFlight> inFlight = new ArrayDeque<>();
    long generation = 1;
    for (int step = 0; step < STEPS; step++) {
      int op = r.nextInt(100);
      if (op < 55) {
        long from = r.nextLong(SPACE);
        long length = r.nextInt(10) == 0 ? 1 + r.nextLong(SPACE / 4) : 1 + r.nextInt(600);
        long to = Math.min(SPACE, from + length);
        run.step(step, "write [" + from + ", " + to + ")");
        overwrite(map, model, from, to, r, generation);
        neighbour.put(new MapEntry(from, 1, MapEntry.Kind.ZERO, null, 0, generation));
        neighbour.overlapping(r.nextLong(SPACE), SPACE);
      } else if (op < 65) {
        run.step(step, "stage");
        WriteBatch batch = new WriteBatch();
        CommitPipeline.Stage stage = new CommitPipeline.Stage();
        map.writeTo(batch);
        map.staged(stage);
        inFlight.add(new InFlight(batch, stage));
        generation++;
      } else if (op < 73 && !inFlight.isEmpty()) {
        run.step(step, "commit oldest staged batch");
        InFlight f = inFlight.poll();
        try (WriteBatch b = f.batch()) {
          meta.commit(b);
        }
        f.stage().markCommitted();
        if (r.nextBoolean()) {
          map.purgeCommitted(); // purging may wait for a later commit, as when the volume is busy
        }
      } else if (op < 97) {
        long from = r.nextLong(SPACE);
        long to = from + 1 + (r.nextInt(8) == 0 ? r.nextLong(SPACE) : r.nextInt(2_000));
        run.step(step, "lookup [" + from + ", " + to + ")");
        assertThat(map.overlapping(from, to)).isEqualTo(expected(model, from, to));
        Map.Entry<Long, MapEntry> some = model.ceilingEntry(from);
        if (some != null) {
          assertThat(map.entryEnding(some.getKey())).isEqualTo(some.getValue());
        }
      } else {
        run.step(step, "scan");
        List<MapEntry> all = new ArrayList<>();
        for (List<MapEntry> b = map.entriesAfter(0, 100); !b.isEmpty(); b = map.entriesAfter(b.getLast().end(), 100)) {
          all.addAll(b);
        }
        assertThat(all).isEqualTo(new ArrayList<>(model.values()));
      }
    }
    run.step(STEPS, "commit all and reopen");
    WriteBatch batch = new WriteBatch();
    CommitPipeline.Stage stage = new CommitPipeline.Stage();
    map.writeTo(batch);
    map.staged(stage);
    inFlight.add(new InFlight(batch, stage));
    for (InFlight f : inFlight) {
      try (WriteBatch b = f.batch()) {
        meta.commit(b);
      }
      f.stage().markCommitted();
    }
    map.purgeCommitted();
    assertThat(map.overlaySize()).isZero();
    BlockMap reopened = new BlockMap(5, meta);
    assertThat(reopened.overlapping(0, SPACE)).isEqualTo(new ArrayList<>(model.values()));
    assertThat(reopened.size()).isEqualTo(model.size());
    assertThat(meta.cache().used()).isLessThanOrEqualTo(meta.cache().budget() + (64 << 10));
    assertThat(meta.cache().evictions()).isPositive();
  }

  /** Replaces what {@code map} and {@code model} hold at {@code [from, to)} as a volume write does. */
  private static void overwrite(BlockMap map, TreeMap<Long, MapEntry> model, long from, long to, Random r,
      long generation) {
    for (MapEntry e : map.overlapping(from, to)) {
      map.remove(e);
      model.remove(e.end());
      if (e.start() < from) {
        MapEntry left = e.slice(e.start(), from);
        map.put(left);
        model.put(left.end(), left);
      }
      if (e.end() > to) {
        MapEntry right = e.slice(to, e.end());
        map.put(right);
        model.put(right.end(), right);
      }
    }
    for (long pos = from; pos < to; ) {
      MapEntry e;
      if (r.nextInt(4) == 0) {
        long n = Math.min(to - pos, 1 + r.nextLong(to - pos));
        e = new MapEntry(pos, (int) n, MapEntry.Kind.ZERO, null, 0, generation);
      } else {
        int n = (int) Math.min(to - pos, 1 + r.nextInt(256));
        e = new MapEntry(pos, n, MapEntry.Kind.DATA, new RecordKey(1 + r.nextInt(5), r.nextLong(1L << 40)),
            r.nextInt(256 - n + 1), generation);
      }
      if (r.nextInt(3) > 0) { // else a hole stays
        map.put(e);
        model.put(e.end(), e);
      }
      pos = e.end();
    }
  }

  private static List<MapEntry> expected(TreeMap<Long, MapEntry> model, long from, long to) {
    List<MapEntry> out = new ArrayList<>();
    for (MapEntry e : model.tailMap(from, false).values()) {
      if (e.start() >= to) {
        break;
      }
      out.add(e);
    }
    return out;
  }
}
