package io.vstore.nbd;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Runs one connection's small writes to an intercepted volume (a replica, the mover) on at most
 * {@link #MAX_LANES} worker threads at once, taken in arrival order. Such a write waits for
 * another copy, so the reader must not run it itself (every request behind it would wait); but
 * a worker per write parks and wakes a thread for every write, and many writers at once contend
 * on the datastores' locks. A lane takes the next write without sleeping while any waits, so a
 * burst of writes costs one wake-up per lane, not one per write.
 */
final class WriteLanes<T> {
  /**
   * One lane: with the reader it keeps two cores busy, and the daemon's CPU per replicated 4 KiB
   * write at QD32 was 219 us with one lane against 257 us with eight and 248 us with a worker per
   * write (unreplicated: 126-141 us; bench/scripts/replica-bench.sh on a loaded machine). A
   * secondary across a network then gets one write at a time per connection, as before lanes,
   * when the reader ran these writes itself.
   */
  static final int MAX_LANES = 1;

  private final Executor workers;
  private final Consumer<T> run;
  private final Consumer<T> refuse;
  private final ConcurrentLinkedQueue<T> queued = new ConcurrentLinkedQueue<>();
  private final AtomicInteger lanes = new AtomicInteger();

  /**
   * Creates lanes on {@code workers} that pass each write to {@code run}, or to {@code refuse}
   * when the workers no longer take tasks (the server is shutting down).
   */
  WriteLanes(Executor workers, Consumer<T> run, Consumer<T> refuse) {
    this.workers = workers;
    this.run = run;
    this.refuse = refuse;
  }

  /** Queues {@code write} and starts a lane for it if fewer than {@link #MAX_LANES} run. */
  void submit(T write) {
    queued.add(write);
    if (!claim()) {
      return; // every lane is busy: one of them takes it (see lane())
    }
    try {
      workers.execute(this::lane);
    } catch (RejectedExecutionException e) {
      lanes.decrementAndGet();
      for (T w; (w = queued.poll()) != null; ) {
        refuse.accept(w);
      }
    }
  }

  /**
   * Runs queued writes until none is left. A lane that finds the queue empty leaves, then looks
   * again: a write queued just before it left, while the submitter saw every lane busy, is taken
   * by it rather than stranded.
   */
  private void lane() {
    do {
      for (T w; (w = queued.poll()) != null; ) {
        run.accept(w);
      }
      lanes.decrementAndGet();
    } while (!queued.isEmpty() && claim());
  }

  /** Takes a lane if one is free; returns whether it did. */
  private boolean claim() {
    for (int n = lanes.get(); n < MAX_LANES; n = lanes.get()) {
      if (lanes.compareAndSet(n, n + 1)) {
        return true;
      }
    }
    return false;
  }
}
