package io.vstore.engine.replica;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The secondary's half of a mirrored operation, offered to another thread while the caller does
 * the primary's half, and run by whichever of the two claims it first. When a core is free the
 * other thread has it running by the time the primary's half is done, and the two overlap; when
 * none is (one client at depth 1 on a busy machine: the helper thread is not even scheduled
 * yet), the caller runs it itself instead of waiting for a wakeup, so a replicated write never
 * costs more than the two halves back to back.
 */
final class RemoteHalf implements Runnable {
  /** The secondary operation itself. */
  @FunctionalInterface
  interface Op {
    /** Applies the operation to the secondary. */
    void run() throws IOException;
  }

  private static final int OFFERED = 0;
  private static final int RUNNING = 1;
  private static final int DONE = 2;

  private final Op op;
  private final AtomicInteger state = new AtomicInteger(OFFERED);
  /** Written before {@link #state} becomes DONE, read after: the volatile write publishes it. */
  private Throwable failure;
  private volatile Thread waiter;

  private RemoteHalf(Op op) {
    this.op = op;
  }

  /** Offers {@code op} to {@code helpers}; the caller must {@link #join} it. */
  static RemoteHalf offer(Op op, Executor helpers) {
    RemoteHalf half = new RemoteHalf(op);
    try {
      helpers.execute(half);
    } catch (RejectedExecutionException e) {
      // The replica is closing: the caller runs it in join.
    }
    return half;
  }

  /** Runs the operation on the helper thread unless the caller already took it. */
  @Override
  public void run() {
    if (state.compareAndSet(OFFERED, RUNNING)) {
      execute();
    }
  }

  private void execute() {
    try {
      op.run();
    } catch (Throwable t) {
      failure = t;
    }
    state.set(DONE);
    Thread w = waiter;
    if (w != null) {
      LockSupport.unpark(w);
    }
  }

  /**
   * Runs the operation here if no helper started it, else waits for the helper; returns its
   * failure, or null when it succeeded.
   */
  Throwable join() throws InterruptedIOException {
    if (state.compareAndSet(OFFERED, RUNNING)) {
      execute();
      return failure;
    }
    waiter = Thread.currentThread();
    while (state.get() != DONE) {
      LockSupport.park(this);
      if (Thread.interrupted()) {
        // The helper still finishes the operation; only this caller stops waiting for it.
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted waiting for the secondary's half of a write");
      }
    }
    return failure;
  }
}
