package io.vstore.blockstore.store;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The datastore-wide memory budget of the metadata pages held in memory: block-map pages and
 * record-state pages. Every page counts its bytes here; when the total passes the budget, the
 * thread that added bytes evicts pages in CLOCK order (a page used since the hand last passed it
 * gets a second chance) until the total is back under it. Eviction never loses anything: a page
 * is a copy of its durable rows plus the uncommitted changes its owner keeps beside it, and is
 * loaded again from both when next needed.
 *
 * <p>The budget is soft by the pages being loaded at that moment: a page is counted once it is
 * loaded, and evicted only after.
 */
final class MetadataCache {
  /** A page the cache may evict. */
  abstract static class Page {
    private volatile boolean referenced;

    /** Returns the page's bytes in memory, as last counted. */
    abstract long bytes();

    /** Removes the page from its owner's table; returns false when it was no longer there. */
    abstract boolean evict();

    /** Records a use of the page, which gives it a second chance at the next eviction sweep. */
    final void touch() {
      referenced = true;
    }

    /** Returns and clears whether the page was used since the last call. */
    final boolean takeReferenced() {
      boolean r = referenced;
      referenced = false;
      return r;
    }
  }

  /** Once the budget is full, one miss in this many loads its page. */
  static final int ADMIT_WHEN_FULL = 16;

  private final long budget;
  private final AtomicLong used = new AtomicLong();
  private final AtomicLong evictions = new AtomicLong();
  /** Warmer threads loading pages now (see {@link #admits}). */
  private final AtomicInteger warmers = new AtomicInteger();
  private final ConcurrentLinkedQueue<Page> clock = new ConcurrentLinkedQueue<>();
  private final ReentrantLock evicting = new ReentrantLock();

  /** Creates a cache that keeps at most about {@code budget} bytes of pages. */
  MetadataCache(long budget) {
    if (budget <= 0) {
      throw new IllegalArgumentException("metadata cache budget " + budget + " is not positive");
    }
    this.budget = budget;
  }

  /** Returns the budget in bytes. */
  long budget() {
    return budget;
  }

  /** Returns the bytes of the pages in memory. */
  long used() {
    return used.get();
  }

  /** Returns how many pages were evicted so far. */
  long evictions() {
    return evictions.get();
  }

  /** Returns the budget, the bytes held and the evictions so far. */
  MetadataCacheFigures figures() {
    return new MetadataCacheFigures(budget, used.get(), evictions.get());
  }

  /**
   * Returns whether a page that is missing should be loaded now: always while the budget has
   * room and no warmer is loading pages; once the budget is full, or while a warmer runs, for one
   * miss in {@link #ADMIT_WHEN_FULL}. The other misses are answered from the rows directly (one
   * seek or point read, against a whole page of rows: 512 blocks' entries, about 30 seeks' CPU),
   * so a working set larger than the budget does not turn every miss into a page load and an
   * eviction, while pages used often still get in. After a reopen the warmer loads every page in
   * key order anyway; a random read that loaded its own page meanwhile cost 10-20 times a read of
   * a loaded one, and at 10 million extents nearly every read of the first minute did.
   */
  boolean admits() {
    return (used.get() < budget && warmers.get() == 0)
        || java.util.concurrent.ThreadLocalRandom.current().nextInt(ADMIT_WHEN_FULL) == 0;
  }

  /** Notes that a background loader of pages (a {@link MetadataWarmer} thread) started. */
  void warmerStarted() {
    warmers.incrementAndGet();
  }

  /** Notes that a background loader of pages ended. */
  void warmerEnded() {
    warmers.decrementAndGet();
  }

  /** Counts newly loaded {@code page}, evicting others when over budget; the caller holds no lock a page takes. */
  void added(Page page) {
    used.addAndGet(page.bytes());
    clock.add(page);
    trim();
  }

  /**
   * Counts {@code delta} more bytes of a page already counted (it grew or shrank). Never evicts:
   * callers may hold locks that eviction takes; the next {@link #added} trims.
   */
  void resized(long delta) {
    used.addAndGet(delta);
  }

  /** Forgets {@code page}, which its owner dropped (its map or volume is gone). */
  void dropped(Page page) {
    used.addAndGet(-page.bytes());
  }

  private void trim() {
    if (used.get() <= budget || !evicting.tryLock()) {
      return; // under budget, or another thread is already evicting
    }
    try {
      // Two sweeps at most: the first may only clear reference bits.
      long budgetSteps = 2L * clock.size() + 1;
      while (used.get() > budget && budgetSteps-- > 0) {
        Page p = clock.poll();
        if (p == null) {
          return;
        }
        if (p.takeReferenced()) {
          clock.add(p);
        } else if (p.evict()) {
          used.addAndGet(-p.bytes());
          evictions.incrementAndGet();
        }
        // A page that was no longer in its owner's table was dropped and uncounted already.
      }
    } finally {
      evicting.unlock();
    }
  }
}
