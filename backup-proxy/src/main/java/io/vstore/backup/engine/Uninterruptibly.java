package io.vstore.backup.engine;

import java.util.concurrent.BlockingQueue;

/**
 * The two waits the backup and restore pipelines must finish even when interrupted (handing workers
 * their end marker, joining them): an interrupt is remembered and restored afterwards, so a pipeline
 * never leaves a thread blocked on a queue nobody drains.
 */
final class Uninterruptibly {
  private Uninterruptibly() {}

  /** Puts {@code item} into {@code queue}, waiting for room whatever interrupts arrive. */
  static <T> void put(BlockingQueue<T> queue, T item) {
    boolean interrupted = false;
    while (true) {
      try {
        queue.put(item);
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits for {@code t} to end, whatever interrupts arrive. */
  static void join(Thread t) {
    boolean interrupted = false;
    while (true) {
      try {
        t.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
