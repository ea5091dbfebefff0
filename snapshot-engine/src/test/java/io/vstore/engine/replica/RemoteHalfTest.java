package io.vstore.engine.replica;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The secondary's half runs exactly once whoever claims it (a helper at once, a late helper, none
 * at all), and its failure reaches the caller: seeded random helpers, delays and failures.
 */
class RemoteHalfTest {
  @Test
  void runsExactlyOnceAndReportsItsFailure() throws Exception {
    long seed = System.nanoTime();
    Random rnd = new Random(seed);
    ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    try {
      for (int step = 0; step < 2000; step++) {
        int mode = rnd.nextInt(3); // 0: helper runs it now, 1: helper comes late, 2: no helper
        int delayMicros = rnd.nextInt(200);
        boolean fails = rnd.nextInt(4) == 0;
        AtomicInteger runs = new AtomicInteger();
        IOException boom = new IOException("secondary failed at step " + step);
        RemoteHalf half = RemoteHalf.offer(() -> {
          runs.incrementAndGet();
          if (fails) {
            throw boom;
          }
        }, task -> {
          switch (mode) {
            case 0 -> pool.execute(task);
            case 1 -> pool.execute(() -> {
              sleepMicros(delayMicros);
              task.run();
            });
            default -> throw new RejectedExecutionException("closed");
          }
        });
        if (rnd.nextBoolean()) {
          sleepMicros(delayMicros); // the caller's own half
        }
        Throwable failure = half.join();
        assertThat(failure).as("seed %d step %d", seed, step).isSameAs(fails ? boom : null);
        assertThat(runs.get()).as("seed %d step %d: runs of the half", seed, step).isEqualTo(1);
      }
    } finally {
      pool.shutdown();
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  private static void sleepMicros(int micros) {
    long end = System.nanoTime() + micros * 1000L;
    while (System.nanoTime() < end) {
      Thread.onSpinWait();
    }
  }
}
