package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many virtual threads on several volumes at once, with flushes and the cleaner running beside
 * them. Each thread owns a region and checks its own reads as it goes; a shared region takes
 * overlapping whole-block writes, where each block must end up holding one of the writes.
 */
@Tag("slow")
final class ConcurrencyTest {
  private static final int BLOCK = 4096;
  @TempDir Path tmp;

  @Test
  void threadsOnSeveralVolumesAgreeWithTheirModels() throws Exception {
    int volumes = 3;
    int threadsPerVolume = 8;
    int region = 1 << 20;
    long size = (long) region * (threadsPerVolume + 1);
    int ops = Workloads.iterations(400, 150);
    DatastoreOptions options = DatastoreOptions.defaults().withSegmentBytes(2L << 20)
        .withCleanerInterval(Duration.ofMillis(50)).withFlushThreshold(200);
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options, 0)) {
      List<Volume> vols = new ArrayList<>();
      List<MemoryBlockDevice> models = new ArrayList<>();
      for (int i = 0; i < volumes; i++) {
        vols.add(ds.createVolume("v" + i, size));
        models.add(new MemoryBlockDevice("model" + i, size));
      }
      // Every value ever written to each block of the shared region, per volume.
      List<java.util.Map<Long, List<byte[]>>> sharedWrites = new ArrayList<>();
      for (int i = 0; i < volumes; i++) {
        sharedWrites.add(new java.util.concurrent.ConcurrentHashMap<>());
      }
      AtomicBoolean done = new AtomicBoolean();
      try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
        List<Future<?>> futures = new ArrayList<>();
        futures.add(pool.submit(() -> {
          while (!done.get()) {
            ds.flush();
            Thread.sleep(5);
          }
          return null;
        }));
        for (int vi = 0; vi < volumes; vi++) {
          for (int t = 0; t < threadsPerVolume; t++) {
            Volume v = vols.get(vi);
            MemoryBlockDevice model = models.get(vi);
            var shared = sharedWrites.get(vi);
            long base = (long) region * t;
            long seed = vi * 100L + t;
            futures.add(pool.submit(() -> {
              Random r = new Random(seed);
              for (int i = 0; i < ops; i++) {
                int n = r.nextBoolean() ? 1 + r.nextInt(20_000) : BLOCK * (1 + r.nextInt(32));
                long off = base + r.nextInt(region - n);
                ByteBuffer data = Workloads.data(r, n);
                int kind = r.nextInt(10);
                if (kind < 6) {
                  model.write(off, data.duplicate());
                  v.write(off, data);
                } else if (kind < 7) {
                  model.writeZeroes(off, n, true);
                  v.discard(off, n);
                } else if (kind < 9) {
                  byte[] expected = new byte[n];
                  byte[] actual = new byte[n];
                  model.read(off, ByteBuffer.wrap(expected));
                  v.read(off, ByteBuffer.wrap(actual));
                  assertThat(Arrays.mismatch(actual, expected)).as("%s read at %d", v, off).isEqualTo(-1);
                } else {
                  long block = r.nextInt(region / BLOCK - 4);
                  long sharedOff = (long) region * threadsPerVolume + block * BLOCK;
                  ByteBuffer blocks = Workloads.data(r, 4 * BLOCK);
                  for (int b = 0; b < 4; b++) {
                    byte[] one = new byte[BLOCK];
                    blocks.get(b * BLOCK, one);
                    shared.computeIfAbsent(block + b, k -> java.util.Collections.synchronizedList(new ArrayList<>()))
                        .add(one);
                  }
                  v.write(sharedOff, blocks);
                }
              }
              return null;
            }));
          }
        }
        try {
          for (int i = 1; i < futures.size(); i++) {
            futures.get(i).get();
          }
        } finally {
          done.set(true); // a failed worker must not leave the flushing task running forever
        }
        futures.getFirst().get();
      }
      for (int vi = 0; vi < volumes; vi++) {
        Volume v = vols.get(vi);
        byte[] expected = new byte[region * threadsPerVolume];
        byte[] actual = new byte[region * threadsPerVolume];
        models.get(vi).read(0, ByteBuffer.wrap(expected));
        v.read(0, ByteBuffer.wrap(actual));
        assertThat(Arrays.mismatch(actual, expected)).as("final content of %s", v).isEqualTo(-1);
        for (var e : sharedWrites.get(vi).entrySet()) {
          byte[] block = new byte[BLOCK];
          v.read((long) region * threadsPerVolume + e.getKey() * BLOCK, ByteBuffer.wrap(block));
          assertThat(e.getValue().stream().anyMatch(w -> Arrays.equals(w, block)))
              .as("%s shared block %d holds one of its writes", v, e.getKey()).isTrue();
        }
      }
      assertThat(ds.check().problems()).isEmpty();
    }
  }
}
