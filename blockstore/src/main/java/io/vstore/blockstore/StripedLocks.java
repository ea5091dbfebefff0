package io.vstore.blockstore;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Locks ranges of units (blocks, clusters) by stripe, so that writes to the same units (and the
 * read-modify-write of partial units) are serialized while writes elsewhere run in parallel.
 * Stripes are always taken in ascending order, so two ranges cannot deadlock. A lock returns a
 * bit mask of the stripes it took instead of an object, so locking allocates nothing.
 */
public final class StripedLocks {
  private static final int STRIPES = Long.SIZE;
  private final int unitsPerStripe;
  private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

  /** Creates locks where each stripe covers {@code unitsPerStripe} consecutive units. */
  public StripedLocks(int unitsPerStripe) {
    if (unitsPerStripe <= 0) {
      throw new IllegalArgumentException("units per stripe must be positive: " + unitsPerStripe);
    }
    this.unitsPerStripe = unitsPerStripe;
    for (int i = 0; i < STRIPES; i++) {
      locks[i] = new ReentrantLock();
    }
  }

  /** Returns a bit set of the stripes covering units {@code [from, to)}. */
  private long stripes(long from, long to) {
    long first = Math.floorDiv(from, unitsPerStripe);
    long last = Math.floorDiv(to - 1, unitsPerStripe);
    if (last - first + 1 >= STRIPES) {
      return -1L;
    }
    long mask = 0;
    for (long s = first; s <= last; s++) {
      mask |= 1L << Math.floorMod(s, STRIPES);
    }
    return mask;
  }

  /** Locks the stripes of units {@code [from, to)} and returns the mask to pass to {@link #unlock}. */
  public long lock(long from, long to) {
    long mask = stripes(from, to);
    for (int i = 0; i < STRIPES; i++) {
      if ((mask & (1L << i)) != 0) {
        locks[i].lock();
      }
    }
    return mask;
  }

  /** Unlocks what {@link #lock} locked. */
  public void unlock(long mask) {
    for (int i = STRIPES - 1; i >= 0; i--) {
      if ((mask & (1L << i)) != 0) {
        locks[i].unlock();
      }
    }
  }
}
