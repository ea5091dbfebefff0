package io.vstore.blockstore;

import java.util.concurrent.BlockingQueue;

/**
 * The waits a pipeline or a set of background threads must finish even when interrupted (handing
 * workers their end marker, joining them before what they use is closed): an interrupt is
 * remembered and restored afterwards, so nothing is left blocked on a queue nobody drains or
 * running against a closed store.
 */
public final class Uninterruptibly {
  private Uninterruptibly() {}

  /** Puts {@code item} into {@code queue}, waiting for room whatever interrupts arrive. */
  public static <T> void put(BlockingQueue<T> queue, T item) {
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

  /** Waits for every thread of {@code threads} to end, whatever interrupts arrive. */
  public static void joinAll(Iterable<Thread> threads) {
    for (Thread t : threads) {
      join(t);
    }
  }

  /** Waits for {@code t} to end, whatever interrupts arrive. */
  public static void join(Thread t) {
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
