package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * Random sequences of write, write-zeroes, discard, flush, clean and close-and-reopen on two
 * volumes, against a reference model of each; every read and allocation result is checked, and
 * the datastore check must stay clean.
 */
final class VolumeModelTest {
  private static final long SIZE = 6L << 20;
  private Path dir;

  @BeforeProperty
  void makeDir() throws IOException {
    dir = Files.createTempDirectory("vstore-model");
  }

  @AfterProperty
  void removeDir() throws IOException {
    org.apache.commons.io.FileUtils.deleteDirectory(dir.toFile());
  }

  private static DatastoreOptions options(Random r) {
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO)
        .withFlushThreshold(10 + r.nextInt(500));
  }

  private int tryCount;

  // Shrinking a seed means nothing; the seed in the failure message reproduces the run.
  @Property(tries = 30, shrinking = net.jqwik.api.ShrinkingMode.OFF)
  void volumesBehaveLikeTheModel(@ForAll long seed) throws IOException {
    Random r = new Random(seed);
    Path ds = dir.resolve("ds" + tryCount++);
    MemoryBlockDevice[] models = {new MemoryBlockDevice("a", SIZE), new MemoryBlockDevice("b", SIZE)};
    Datastore store = Datastore.create(ds, options(r), 0);
    try {
      store.createVolume("a", SIZE).close();
      store.createVolume("b", SIZE).close();
      int steps = 40 + r.nextInt(120);
      for (int step = 0; step < steps; step++) {
        int which = r.nextInt(2);
        MemoryBlockDevice model = models[which];
        Volume v = store.volume(which == 0 ? "a" : "b");
        String where = "seed " + seed + " step " + step;
        int op = r.nextInt(20);
        if (op < 8) {
          int n = r.nextInt(3) == 0 ? 1 + r.nextInt(9000) : 4096 * (1 + r.nextInt(300));
          long off = r.nextInt(3) == 0 ? r.nextLong(SIZE - n) : 4096 * r.nextLong((SIZE - n) / 4096);
          ByteBuffer data = Workloads.data(r, n);
          model.write(off, data.duplicate());
          v.write(off, data);
        } else if (op < 10) {
          long n = 1 + r.nextLong(SIZE / 2);
          long off = r.nextLong(SIZE - n);
          boolean discard = r.nextBoolean();
          model.writeZeroes(off, n, true);
          if (discard) {
            v.discard(off, n);
          } else {
            v.writeZeroes(off, n, r.nextBoolean());
          }
        } else if (op < 14) {
          int n = 1 + r.nextInt(400_000);
          long off = r.nextLong(SIZE - n);
          byte[] expected = new byte[n];
          byte[] actual = new byte[n];
          model.read(off, ByteBuffer.wrap(expected));
          v.read(off, ByteBuffer.wrap(actual));
          assertThat(Arrays.mismatch(actual, expected)).as("%s read at %d", where, off).isEqualTo(-1);
        } else if (op < 16) {
          long n = 1 + r.nextLong(SIZE);
          long off = r.nextLong(SIZE - n + 1);
          checkAllocation(v, model, off, n, where);
        } else if (op == 16) {
          v.flush();
        } else if (op == 17) {
          store.clean();
        } else {
          store.close();
          store = Datastore.open(ds, options(r));
        }
      }
      for (int i = 0; i < 2; i++) {
        Volume v = store.volume(i == 0 ? "a" : "b");
        byte[] expected = new byte[(int) SIZE];
        byte[] actual = new byte[(int) SIZE];
        models[i].read(0, ByteBuffer.wrap(expected));
        v.read(0, ByteBuffer.wrap(actual));
        assertThat(Arrays.mismatch(actual, expected)).as("seed %d final content of %s", seed, v).isEqualTo(-1);
        checkAllocation(v, models[i], 0, SIZE, "seed " + seed + " final");
        long nonZeroPages = models[i].pages().values().stream().filter(p -> !Arrays.equals(p, new byte[4096])).count();
        assertThat(v.info().mapped()).as("mapped bytes").isEqualTo(4096L * nonZeroPages);
      }
      assertThat(store.check().problems()).as("check, seed %d", seed).isEmpty();
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
