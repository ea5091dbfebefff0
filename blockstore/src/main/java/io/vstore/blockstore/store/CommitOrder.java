package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;

/**
 * Orders the metadata commits of flushes. A flush stages its batch under the datastore's commit
 * lock and takes a ticket there; it then syncs the segments and commits outside the lock, so that
 * writers go on while the disk works, but batches must reach RocksDB in ticket order (a later batch
 * builds on an earlier one). When a commit fails, every later one fails too: memory is then ahead
 * of the disk, and only reopening the datastore brings the two together again.
 */
final class CommitOrder {
  @GuardedBy("this")
  private long issued;
  @GuardedBy("this")
  private long committed;
  /** Written under this, read without it by every write. */
  private volatile IOException failure;

  /** Returns the next ticket; the caller holds the commit lock exclusively, so tickets follow staging order. */
  synchronized long issue() {
    return ++issued;
  }

  /** Returns the newest ticket issued. */
  synchronized long newest() {
    return issued;
  }

  /** Waits until every ticket before {@code ticket} is committed. */
  synchronized void awaitTurn(long ticket) throws IOException {
    awaitCommitted(ticket - 1);
  }

  /** Waits until {@code ticket} and every ticket before it are committed. */
  synchronized void awaitCommitted(long ticket) throws IOException {
    boolean interrupted = false;
    while (committed < ticket && failure == null) {
      try {
        wait();
      } catch (InterruptedException e) {
        interrupted = true; // a commit in progress must not be abandoned half-way
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    checkHealthy();
  }

  /** Marks {@code ticket} committed. */
  synchronized void committed(long ticket) {
    committed = ticket;
    notifyAll();
  }

  /** Records that a commit failed; every later commit and write fails with it. */
  synchronized void failed(IOException e) {
    if (failure == null) {
      failure = e;
    }
    notifyAll();
  }

  /** Throws if a commit has failed. */
  void checkHealthy() throws IOException {
    IOException failure = this.failure;
    if (failure != null) {
      throw new IOException("a metadata commit failed earlier (" + failure.getMessage()
          + "); reopen the datastore to recover its last durable state", failure);
    }
  }
}
