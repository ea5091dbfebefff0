package io.vstore.engine.move;

import io.vstore.blockstore.Uninterruptibly;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The copy pass's workers: a few virtual threads, each taking the next region still to copy in
 * ascending order and copying it, so several regions are read and written at once. The move's
 * own thread waits for them with {@link #awaitProgress}, learns their failure from {@link #check}
 * and stops them with {@link #stopAndJoin}; they are never interrupted, since an interrupt closes
 * the file channels a datastore shares.
 */
final class RegionCopiers {
  /** Copies one region; called by a copier, with a buffer of its own of one region. */
  @FunctionalInterface
  interface Copy {
    /** Makes region {@code region} of the destination equal the source's and marks it copied. */
    void region(long region, ByteBuffer buffer) throws IOException;
  }

  private final Mirror mirror;
  private final long size;
  private final Copy copy;
  private final Runnable throttle;
  private final AtomicLong next;
  private final Semaphore finished = new Semaphore(0);
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stop;
  private volatile Throwable failure;

  /**
   * Starts {@code count} copiers over the regions {@code mirror} has still to copy from region
   * {@code from} on; each calls {@code throttle} after a region (the rate limit).
   */
  RegionCopiers(String name, int count, Mirror mirror, long size, long from, Copy copy, Runnable throttle) {
    this.mirror = mirror;
    this.size = size;
    this.copy = copy;
    this.throttle = throttle;
    this.next = new AtomicLong(from);
    for (int i = 0; i < count; i++) {
      threads.add(Thread.ofVirtual().name("vstore-move-copier-" + name + "-" + i).start(this::work));
    }
  }

  private void work() {
    ByteBuffer buffer = ByteBuffer.allocateDirect(Mirror.REGION);
    try {
      while (!stop) {
        long r = claim();
        if (r < 0) {
          return;
        }
        copy.region(r, buffer);
        finished.release();
        throttle.run();
      }
    } catch (Throwable t) {
      if (failure == null) {
        failure = t;
      }
      stop = true;
    } finally {
      finished.release();
    }
  }

  /** Returns the next region still to copy, taken by this copier alone, or -1 when none is left. */
  private long claim() {
    while (true) {
      long from = next.get();
      long r = mirror.nextPending(from);
      if (r < 0 || r * Mirror.REGION >= size) {
        return -1;
      }
      if (next.compareAndSet(from, r + 1)) {
        return r;
      }
    }
  }

  /** Waits until a copier finishes a region or ends, or a tenth of a second passes (progress and cancel). */
  void awaitProgress() {
    try {
      if (finished.tryAcquire(100, TimeUnit.MILLISECONDS)) {
        finished.drainPermits();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancellationException("the copy pass was interrupted");
    }
  }

  /** Throws what a copier failed with, if one did. */
  void check() throws IOException {
    Throwable t = failure;
    if (t instanceof IOException e) {
      throw e;
    } else if (t instanceof RuntimeException e) {
      throw e;
    } else if (t instanceof Error e) {
      throw e;
    } else if (t != null) {
      throw new IOException(t);
    }
  }

  /** Stops the copiers after the region each is copying and waits for them. Idempotent. */
  void stopAndJoin() {
    stop = true;
    Uninterruptibly.joinAll(threads);
  }
}
