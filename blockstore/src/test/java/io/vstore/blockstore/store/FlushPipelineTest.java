package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.PowerCutChannels;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What others see while a flush has staged its changes but not yet committed them. */
class FlushPipelineTest {
  private static final int BLOCK = 4096;

  @Test
  void changeTrackingSeesChangesThatAFlushInProgressHasStaged(@TempDir Path dir) throws Exception {
    PowerCutChannels channels = new PowerCutChannels(1);
    DatastoreOptions options = DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO).withChannels(channels::open);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    CountDownLatch gate = new CountDownLatch(1);
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options, 0)) {
      Volume v = ds.createVolume("v", 1 << 20);
      String since = ds.volumeInfo("v").changeId();
      byte[] data = new byte[BLOCK];
      Arrays.fill(data, (byte) 7);
      v.write(2 * BLOCK, ByteBuffer.wrap(data));

      channels.holdForces(gate);
      Future<?> flushing = pool.submit(() -> {
        v.flush();
        return null;
      });
      // The flush has staged the change (and cleared the pending set) once it waits to sync.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (channels.forcesHeld() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      assertThat(channels.forcesHeld()).as("the flush reached its sync").isPositive();
      Future<ChangedAreas> asked = pool.submit(() -> ds.changedAreas("v", since, 0, 1 << 20));
      gate.countDown();
      channels.holdForces(null);
      flushing.get(10, TimeUnit.SECONDS);

      List<Extent> changed = asked.get(10, TimeUnit.SECONDS).extents();
      assertThat(changed).containsExactly(new Extent(2 * BLOCK, BLOCK, Extent.Kind.DATA));
    } finally {
      gate.countDown();
      pool.shutdownNow();
    }
  }
}
