package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;

/**
 * Flushes a datastore in the background once enough changes are pending, so that the writer that
 * crosses the threshold does not wait for the disk. Writers that get far ahead of it (twice the
 * threshold) flush themselves, which bounds memory and the work a crash loses.
 */
final class BackgroundFlusher {
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore");
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
    while (true) {
      synchronized (this) {
        while (!requested && !stopping) {
          try {
            wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (stopping) {
          return;
        }
        requested = false;
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
