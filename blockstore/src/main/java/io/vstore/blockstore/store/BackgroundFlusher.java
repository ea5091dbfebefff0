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
        while (!requested && !stopping) {
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
      }
      try {
        commits.flush();
      } catch (IOException | RuntimeException e) {
        // The commit order records the failure; writers and the next flush report it.
        LOG.log(System.Logger.Level.ERROR, "background flush of " + owner + " failed", e);
      }
    }
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
