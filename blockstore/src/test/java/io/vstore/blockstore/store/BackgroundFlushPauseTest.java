package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.PowerCutChannels;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pausing the background flusher (the mover's switch-over does, so that it never waits behind a
 * sync it did not ask for): no background flush starts while paused, the pause waits for the one
 * running, and a flush asked for meanwhile runs at the resume. A background flush shows as a
 * segment sync held at the channels' gate.
 */
class BackgroundFlushPauseTest {
  private static final int THRESHOLD = 64;
  private static final int BLOCK = 4096;

  @Test
  void noBackgroundFlushStartsWhilePausedAndTheAskedOneRunsAtTheResume(@TempDir Path dir) throws Exception {
    PowerCutChannels channels = new PowerCutChannels(2);
    CountDownLatch gate = new CountDownLatch(1);
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(channels), 0)) {
      Volume v = ds.createVolume("v", 1 << 20);
      ds.flush();
      channels.holdForces(gate);
      ds.pauseBackgroundFlushes();
      writePastThreshold(ds, v); // below twice it: only the background flushes
      Thread.sleep(300);
      assertThat(channels.forcesHeld()).as("syncs started while background flushes are paused").isZero();

      ds.resumeBackgroundFlushes();
      awaitForceHeld(channels);
      gate.countDown();
      channels.holdForces(null);
      ds.flush();
    } finally {
      gate.countDown();
    }
  }

  @Test
  void pauseReturnsOnlyOnceTheRunningBackgroundFlushHasEnded(@TempDir Path dir) throws Exception {
    PowerCutChannels channels = new PowerCutChannels(3);
    CountDownLatch gate = new CountDownLatch(1);
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(channels), 0)) {
      Volume v = ds.createVolume("v", 1 << 20);
      ds.flush();
      channels.holdForces(gate);
      writePastThreshold(ds, v);
      awaitForceHeld(channels); // the background flush is syncing, held at the gate

      Future<?> pausing = pool.submit(() -> {
        ds.pauseBackgroundFlushes();
        return null;
      });
      try {
        pausing.get(300, TimeUnit.MILLISECONDS);
        throw new AssertionError("the pause returned while a background flush was still syncing");
      } catch (TimeoutException expected) {
        // still waiting for the flush at the gate
      }
      gate.countDown();
      channels.holdForces(null);
      pausing.get(10, TimeUnit.SECONDS);
      ds.resumeBackgroundFlushes();
    } finally {
      gate.countDown();
      pool.shutdownNow();
    }
  }

  @Test
  void resumeWithoutPauseIsRefused(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(new PowerCutChannels(4)), 0)) {
      org.assertj.core.api.Assertions.assertThatThrownBy(ds::resumeBackgroundFlushes)
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("not paused");
    }
  }

  private static DatastoreOptions options(PowerCutChannels channels) {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO).withFlushThreshold(THRESHOLD)
        .withChannels(channels::open);
  }

  /**
   * Writes blocks at distinct offsets until the changes pending reach the threshold (a write makes
   * a few), well below twice it, where the writer would flush itself.
   */
  private static void writePastThreshold(Datastore ds, Volume v) throws Exception {
    CommitPipeline commits = ds.parts().commits();
    for (int i = 0; commits.pendingChangeCount() < THRESHOLD; i++) {
      ByteBuffer b = ByteBuffer.allocate(BLOCK);
      b.put(0, (byte) (i + 1));
      v.write((long) i * 2 * BLOCK, b);
    }
    assertThat(commits.pendingChangeCount()).isLessThan(2L * THRESHOLD);
  }

  private static void awaitForceHeld(PowerCutChannels channels) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (channels.forcesHeld() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    assertThat(channels.forcesHeld()).as("a background flush reached its sync").isPositive();
  }
}
