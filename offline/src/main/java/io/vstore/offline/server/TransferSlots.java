package io.vstore.offline.server;

import io.vstore.server.http.ApiException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The server's N transfer slots: each data stream (a check-out range, a check-in) holds one while
 * it runs; more requests wait in arrival order (a fair semaphore), so many concurrent transfers all
 * progress and none starves. A request that waits longer than the limit is answered 503 and the
 * client retries.
 */
final class TransferSlots {
  /** How long a request waits for a slot before being told to retry. */
  static final long WAIT_SECONDS = 120;
  private final Semaphore slots;
  private final int count;

  TransferSlots(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("transfer slots must be at least 1, not " + count);
    }
    this.count = count;
    this.slots = new Semaphore(count, true);
  }

  /** Takes a slot, waiting in line; close the result to give it back. */
  AutoCloseable acquire() throws InterruptedException {
    if (!slots.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)) {
      throw new ApiException(503, "all " + count + " transfer slots stayed busy for " + WAIT_SECONDS
          + " s; retry later");
    }
    return slots::release;
  }

  /** Returns the number of slots. */
  int count() {
    return count;
  }

  /** Returns the number of requests waiting for a slot. */
  int queued() {
    return slots.getQueueLength();
  }
}
