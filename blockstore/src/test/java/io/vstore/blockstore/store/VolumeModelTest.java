package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.blockstore.testing.ModelRun;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random sequences of write, write-zeroes, discard, flush, clean and close-and-reopen on two
 * volumes, against a reference model of each; every read and allocation result is checked, and
 * the datastore check must stay clean. One case per seed; see {@link ModelRun} to replay one.
 */
final class VolumeModelTest {
  private static final long SIZE = 6L << 20;
  @TempDir Path dir;

  /** Whether this run's datastore is encrypted (every record sealed): the same model, through the sealed record paths. */
  private boolean encrypted;

  private DatastoreOptions options(Random r) {
    return plainOptions(r).withKeys(encrypted ? EncryptedDatastoreTest.passphrase("model") : null);
  }

  private static DatastoreOptions plainOptions(Random r) {
    // Half the runs keep almost no metadata pages in memory, so that pages are evicted and reloaded all along.
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO)
        .withMetadataCache(r.nextBoolean() ? 64 << 10 : DatastoreOptions.DEFAULT_METADATA_CACHE)
        .withFlushThreshold(10 + r.nextInt(500));
  }

  static LongStream seeds() {
    return ModelRun.seeds(30);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void volumesBehaveLikeTheModel(long seed) {
    ModelRun.run(seed, this::oneRun);
  }

  static LongStream encryptedSeeds() {
    return ModelRun.seeds(10);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("encryptedSeeds")
  void onAnEncryptedDatastoreToo(long seed) {
    encrypted = true;
    ModelRun.run(seed, this::oneRun);
  }

  private void oneRun(ModelRun run) throws IOException {
    Random r = run.random();
    Path ds = dir.resolve("ds");
    MemoryBlockDevice[] models = {new MemoryBlockDevice("a", SIZE), new MemoryBlockDevice("b", SIZE)};
    Datastore store = Datastore.create(ds, options(r), 0, encrypted);
    try {
      store.createVolume("a", SIZE).close();
      store.createVolume("b", SIZE).close();
      int steps = 40 + r.nextInt(120);
      for (int step = 0; step < steps; step++) {
        int which = r.nextInt(2);
        MemoryBlockDevice model = models[which];
        String name = which == 0 ? "a" : "b";
        Volume v = store.volume(name);
        int op = r.nextInt(20);
        if (op < 8) {
          int n = r.nextInt(3) == 0 ? 1 + r.nextInt(9000) : 4096 * (1 + r.nextInt(300));
          long off = r.nextInt(3) == 0 ? r.nextLong(SIZE - n) : 4096 * r.nextLong((SIZE - n) / 4096);
          run.step(step, "write " + n + " at " + off + " to " + name);
          ByteBuffer data = Workloads.data(r, n);
          model.write(off, data.duplicate());
          v.write(off, data);
        } else if (op < 10) {
          long n = 1 + r.nextLong(SIZE / 2);
          long off = r.nextLong(SIZE - n);
          boolean discard = r.nextBoolean();
          boolean mayUnmap = !discard && r.nextBoolean();
          run.step(step, (discard ? "discard " : "write zeroes ") + n + " at " + off + " of " + name
              + (mayUnmap ? " (may unmap)" : ""));
          model.writeZeroes(off, n, true);
          if (discard) {
            v.discard(off, n);
          } else {
            v.writeZeroes(off, n, mayUnmap);
          }
        } else if (op < 14) {
          int n = 1 + r.nextInt(400_000);
          long off = r.nextLong(SIZE - n);
          run.step(step, "read " + n + " at " + off + " of " + name);
          byte[] expected = new byte[n];
          byte[] actual = new byte[n];
          model.read(off, ByteBuffer.wrap(expected));
          v.read(off, ByteBuffer.wrap(actual));
          assertThat(Arrays.mismatch(actual, expected)).as("read at %d", off).isEqualTo(-1);
        } else if (op < 16) {
          long n = 1 + r.nextLong(SIZE);
          long off = r.nextLong(SIZE - n + 1);
          run.step(step, "allocation " + n + " at " + off + " of " + name);
          checkAllocation(v, model, off, n, "allocation");
        } else if (op == 16) {
          run.step(step, "flush " + name);
          v.flush();
        } else if (op == 17) {
          run.step(step, "clean");
          store.clean();
        } else {
          run.step(step, "close and reopen");
          store.close();
          store = Datastore.open(ds, options(r));
        }
      }
      run.finish("final checks");
      for (int i = 0; i < 2; i++) {
        Volume v = store.volume(i == 0 ? "a" : "b");
        byte[] expected = new byte[(int) SIZE];
        byte[] actual = new byte[(int) SIZE];
        models[i].read(0, ByteBuffer.wrap(expected));
        v.read(0, ByteBuffer.wrap(actual));
        assertThat(Arrays.mismatch(actual, expected)).as("final content of %s", v).isEqualTo(-1);
        checkAllocation(v, models[i], 0, SIZE, "final");
        long nonZeroPages = models[i].pages().values().stream().filter(p -> !Arrays.equals(p, new byte[4096])).count();
        assertThat(v.info().mapped()).as("mapped bytes").isEqualTo(4096L * nonZeroPages);
      }
      assertThat(store.check().problems()).as("check").isEmpty();
    } finally {
      store.close();
    }
  }

  /** Asserts that data extents hold exactly the model's non-zero pages (zeros are never stored). */
  private static void checkAllocation(Volume v, MemoryBlockDevice model, long off, long n, String where)
      throws IOException {
    List<Extent> extents = v.allocation(off, n);
    java.util.Map<Long, byte[]> pages = model.pages();
    long pos = off;
    for (Extent e : extents) {
      assertThat(e.offset()).as("%s contiguous", where).isEqualTo(pos);
      pos = e.end();
      for (long page = e.offset() / 4096; page <= (e.end() - 1) / 4096; page++) {
        byte[] content = pages.get(page);
        boolean modelHasData = content != null && !Arrays.equals(content, new byte[4096]);
        assertThat(e.kind() == Extent.Kind.DATA).as("%s page %d kind %s", where, page, e.kind()).isEqualTo(modelHasData);
      }
    }
    assertThat(pos).isEqualTo(off + n);
  }
}
