package io.vstore.blockstore.store;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Locks ranges of blocks by stripe, so that writes to the same blocks (and the read-modify-write
 * of partial blocks) are serialized while writes elsewhere run in parallel. Stripes are always
 * taken in ascending order, so two ranges cannot deadlock.
 */
final class StripedLocks {
  private static final int STRIPES = 64;
  /** Blocks per stripe: 1 MiB, the largest record, so an aligned record write takes one or two. */
  private static final int STRIPE_BLOCKS = 256;
  private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

  StripedLocks() {
    for (int i = 0; i < STRIPES; i++) {
      locks[i] = new ReentrantLock();
    }
  }

  /** Returns a bit set of the stripes covering blocks {@code [from, to)}. */
  private static long stripes(long from, long to) {
    long first = from / STRIPE_BLOCKS;
    long last = (to - 1) / STRIPE_BLOCKS;
    if (last - first + 1 >= STRIPES) {
      return -1L;
    }
    long mask = 0;
    for (long s = first; s <= last; s++) {
      mask |= 1L << (s % STRIPES);
    }
    return mask;
  }

  /** Locks the stripes of {@code [from, to)} and returns the mask to pass to {@link #unlock}. */
  long lock(long from, long to) {
    long mask = stripes(from, to);
    for (int i = 0; i < STRIPES; i++) {
      if ((mask & (1L << i)) != 0) {
        locks[i].lock();
      }
    }
    return mask;
  }

  /** Unlocks what {@link #lock} locked. */
  void unlock(long mask) {
    for (int i = STRIPES - 1; i >= 0; i--) {
      if ((mask & (1L << i)) != 0) {
        locks[i].unlock();
      }
    }
  }
}
