package io.vstore.blockstore.store;

import java.io.IOException;

/**
 * Flushes a datastore in the background once enough changes are pending, so that the writer that
 * crosses the threshold does not wait for the disk. Writers that get far ahead of it (twice the
 * threshold) flush themselves, which bounds memory and the work a crash loses.
 */
final class BackgroundFlusher {
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore");
  private final Datastore store;
  private final Thread thread;
  private volatile boolean requested; // written under this
  private boolean stopping; // guarded by this

  BackgroundFlusher(Datastore store) {
    this.store = store;
    this.thread = Thread.ofPlatform().daemon().name("vstore-flusher").unstarted(this::run);
  }

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
        store.flush();
      } catch (IOException | RuntimeException e) {
        // The commit order records the failure; writers and the next flush report it.
        LOG.log(System.Logger.Level.ERROR, "background flush of " + store + " failed", e);
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
