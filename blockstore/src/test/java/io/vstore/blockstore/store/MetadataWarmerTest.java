package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.blockstore.testing.ModelRun;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The background loader of metadata pages against a model of a volume's bytes: a datastore holding
 * scattered writes and snapshots is reopened (its own warmer starts), and while more warmers load
 * every page over and over (past the budget, so the cache keeps evicting what they load) the test
 * writes, reads, flushes and snapshots; every read must equal the model. Then the datastore is
 * reopened and dropped as a crash would while its warmer runs, and every flushed byte must be back.
 */
class MetadataWarmerTest {
  private static final int BLOCK = 4096;
  private static final long SIZE = 64L << 20; // 32 map pages of 2 MiB
  private static final int STEPS = System.getenv("CI") != null ? 300 : 500;

  @TempDir
  Path dir;

  static LongStream seeds() {
    return ModelRun.seeds(4);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void readsAgreeWithTheModelWhileWritesRaceTheWarmer(long seed) {
    ModelRun.run(seed, run -> oneRun(run, dir.resolve("ds-" + seed)));
  }

  private static DatastoreOptions options(long cacheBytes) {
    // Small segments spread the records over many record pages; a low threshold flushes and purges often.
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO)
        .withFlushThreshold(64).withMetadataCache(cacheBytes);
  }

  private void oneRun(ModelRun run, Path path) throws Exception {
    Random r = run.random();
    long cacheBytes = r.nextBoolean() ? 48L << 10 : 16L << 20;
    run.context("cache " + cacheBytes + " bytes");
    DatastoreOptions options = options(cacheBytes);
    MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
    List<String> snapshots = new ArrayList<>();
    List<MemoryBlockDevice> snapshotModels = new ArrayList<>();
    try (Datastore ds = Datastore.create(path, options, 0)) {
      Volume v = ds.createVolume("v", SIZE);
      for (int i = 0; i < 1_500; i++) {
        write(r, v, model, 1);
        if (i % 500 == 499) {
          snapshot(ds, model, snapshots, snapshotModels);
        }
      }
      v.flush();
    }
    try (Datastore ds = Datastore.open(path, options)) {
      Volume v = ds.volume("v");
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong passes = new AtomicLong();
      java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
      Thread hammer = Thread.ofPlatform().start(() -> {
        try {
          while (!stop.get()) {
            try (MetadataWarmer w = new MetadataWarmer(ds.parts(), Long.MAX_VALUE)) {
              w.start();
              while (!w.isDone() && !stop.get()) {
                Thread.sleep(1);
              }
            }
            passes.incrementAndGet();
          }
        } catch (InterruptedException | RuntimeException e) {
          failure.set(e);
        }
      });
      try {
        for (int step = 0; step < STEPS; step++) {
          int op = r.nextInt(100);
          if (op < 55) {
            run.step(step, "write");
            write(r, v, model, 1 + r.nextInt(8));
          } else if (op < 92) {
            run.step(step, "read");
            int n = BLOCK * (1 + r.nextInt(8));
            long off = BLOCK * (long) r.nextInt((int) ((SIZE - n) / BLOCK));
            assertThat(read(v, off, n)).as("blocks at %d, %d bytes", off, n).isEqualTo(read(model, off, n));
          } else if (op < 99) {
            run.step(step, "flush");
            v.flush();
          } else {
            run.step(step, "snapshot");
            snapshot(ds, model, snapshots, snapshotModels);
          }
        }
      } finally {
        stop.set(true);
        hammer.join();
      }
      assertThat(failure.get()).as("the warmers' thread failed").isNull();
      run.finish("compare every snapshot (warm passes: " + passes.get() + ")");
      for (int i = 0; i < snapshots.size(); i++) {
        Volume s = ds.volume("v@" + snapshots.get(i), true);
        assertThat(read(s, 0, (int) SIZE)).as("snapshot %s", snapshots.get(i))
            .isEqualTo(read(snapshotModels.get(i), 0, (int) SIZE));
      }
      v.flush();
      assertThat(ds.check().problems()).isEmpty();
    }
    run.finish("crash while warming");
    Datastore crashed = Datastore.open(path, options);
    Volume v = crashed.volume("v");
    for (int i = 0; i < 50; i++) {
      write(r, v, model, 1 + r.nextInt(4));
    }
    v.flush();
    crashed.abandon();
    assertThat(crashed.warmer().isDone()).as("the warmer stopped with the datastore").isTrue();
    run.finish("reopen after the crash");
    try (Datastore ds = Datastore.open(path, options)) {
      assertThat(read(ds.volume("v"), 0, (int) SIZE)).isEqualTo(read(model, 0, (int) SIZE));
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void closingStopsTheWarmer() throws Exception {
    Path path = dir.resolve("ds");
    DatastoreOptions options = options(16L << 20);
    Random r = new Random(7);
    MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
    try (Datastore ds = Datastore.create(path, options, 0)) {
      Volume v = ds.createVolume("v", SIZE);
      for (int i = 0; i < 1_000; i++) {
        write(r, v, model, 1);
      }
    }
    Datastore ds = Datastore.open(path, options);
    ds.close();
    assertThat(ds.warmer().isDone()).isTrue();
    try (Datastore again = Datastore.open(path, options)) {
      while (!again.warmer().isDone()) {
        Thread.sleep(1);
      }
      assertThat(again.warmer().pagesVisited()).as("pages the warmer went through").isPositive();
      assertThat(again.info().metadataCache().used()).as("bytes of pages held").isPositive();
      assertThat(again.parts().meta().cache().admits()).as("misses load their pages again once warming ended").isTrue();
      assertThat(read(again.volume("v"), 0, (int) SIZE)).isEqualTo(read(model, 0, (int) SIZE));
    }
  }

  private static void write(Random r, Volume v, MemoryBlockDevice model, int blocks) throws Exception {
    long off = BLOCK * (long) r.nextInt((int) (SIZE / BLOCK) - blocks + 1);
    ByteBuffer data = Workloads.data(r, blocks * BLOCK);
    v.write(off, data.duplicate());
    model.write(off, data);
  }

  private static void snapshot(Datastore ds, MemoryBlockDevice model, List<String> names, List<MemoryBlockDevice> models)
      throws Exception {
    String name = "s" + names.size();
    ds.createSnapshot("v", name);
    MemoryBlockDevice copy = new MemoryBlockDevice(name, SIZE);
    copy.write(0, ByteBuffer.wrap(read(model, 0, (int) SIZE)));
    names.add(name);
    models.add(copy);
  }

  private static byte[] read(io.vstore.blockstore.BlockDevice d, long off, int n) throws Exception {
    byte[] b = new byte[n];
    d.read(off, ByteBuffer.wrap(b));
    return b;
  }
}
