package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;

/**
 * Flushes a datastore in the background once enough changes are pending, so that the writer that
 * crosses the threshold does not wait for the disk. Writers that get far ahead of it (twice the
 * threshold) flush themselves, which bounds memory and the work a crash loses. Changes left
 * pending by writers that went quiet are committed after {@link #IDLE_COMMIT} without a new one:
 * until then they are held in memory twice (in the overlays and the pages) for nothing.
 */
final class BackgroundFlusher {
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore");
  /** How long changes may stay pending once writers stopped making new ones. */
  static final long IDLE_COMMIT_MILLIS = 5_000;
  private final CommitPipeline commits;
  private final Object owner;
  private final Thread thread;
  /** Written under this, read without it by every writer that crosses the threshold. */
  private volatile boolean requested;
  @GuardedBy("this")
  private boolean stopping;
  /** How many {@link #pause} calls are not yet resumed; no flush starts while positive. */
  @GuardedBy("this")
  private int pauses;
  /** Whether the thread is in a flush (from deciding to flush until it returns). */
  @GuardedBy("this")
  private boolean flushing;

  /** Creates the (unstarted) flusher of {@code commits}; {@code owner} is named in messages. */
  BackgroundFlusher(CommitPipeline commits, Object owner) {
    this.commits = commits;
    this.owner = owner;
    this.thread = Thread.ofPlatform().daemon().name("vstore-flusher").unstarted(this::run);
  }

  /** Starts the flusher thread. */
  void start() {
    thread.start();
  }

  /** Asks for a flush soon; cheap when one is already asked for. */
  void request() {
    if (requested) {
      return;
    }
    synchronized (this) {
      requested = true;
      notifyAll();
    }
  }

  private void run() {
    long lastPending = 0;
    while (true) {
      synchronized (this) {
        long deadline = System.nanoTime() + IDLE_COMMIT_MILLIS * 1_000_000;
        while ((!requested || pauses > 0) && !stopping) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            break;
          }
          try {
            wait(Math.max(1, left / 1_000_000));
          } catch (InterruptedException e) {
            return;
          }
        }
        if (stopping) {
          return;
        }
        if (pauses > 0) {
          continue; // the idle commit waits for the resume too
        }
        if (!requested) {
          long pending = commits.pendingChangeCount();
          boolean idle = pending > 0 && pending == lastPending;
          lastPending = pending;
          if (!idle) {
            continue; // nothing pending, or writers still at it: the threshold will flush
          }
        }
        requested = false;
        lastPending = 0;
        flushing = true;
      }
      try {
        commits.flush();
      } catch (IOException | RuntimeException e) {
        // The commit order records the failure; writers and the next flush report it.
        LOG.log(System.Logger.Level.ERROR, "background flush of " + owner + " failed", e);
      } finally {
        synchronized (this) {
          flushing = false;
          notifyAll();
        }
      }
    }
  }

  /**
   * Starts no flush until as many {@link #resume} calls; returns once the flush running (if any)
   * has ended. For a caller that must not wait behind a sync it did not ask for (the mover's
   * switch-over); writers that get twice the threshold ahead still flush themselves.
   */
  void pause() {
    boolean interrupted = false;
    synchronized (this) {
      pauses++;
      while (flushing) {
        try {
          wait();
        } catch (InterruptedException e) {
          interrupted = true; // the flush is not interrupted either; waiting for it is short
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Ends one {@link #pause}; a flush requested meanwhile starts now. */
  synchronized void resume() {
    if (pauses <= 0) {
      throw new IllegalStateException("background flushes of " + owner + " are not paused");
    }
    pauses--;
    notifyAll();
  }

  /** Stops the thread after the flush it may be running; never interrupts file I/O. */
  void stop() {
    synchronized (this) {
      stopping = true;
      notifyAll();
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
