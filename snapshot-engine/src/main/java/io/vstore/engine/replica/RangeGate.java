package io.vstore.engine.replica;

import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Orders the sync's copier against mirrored writes while a sync runs: the copier reads a range
 * from the primary and writes it to the secondary; a client write to the same range in between
 * would be overwritten on the secondary by the older bytes. So the copier takes a range only once
 * no write inside it is in flight, and writes to a range the copier holds wait for it.
 */
final class RangeGate {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  /** Ranges of the writes in flight, as {start, end}; guarded by {@link #lock}. */
  private final List<long[]> writers = new ArrayList<>();
  /** The copier's range, or {-1, -1}; guarded by {@link #lock}. */
  private long copyStart = -1;
  private long copyEnd = -1;

  /** Registers a write of {@code [offset, offset + length)}, waiting while the copier holds it. */
  long[] enter(long offset, long length) throws InterruptedIOException {
    long[] range = {offset, offset + length};
    lock.lock();
    try {
      while (range[0] < copyEnd && copyStart < range[1]) {
        changed.await();
      }
      writers.add(range);
      return range;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted waiting for the replica's copier");
    } finally {
      lock.unlock();
    }
  }

  /** Ends the write registered as {@code range}. */
  void exit(long[] range) {
    lock.lock();
    try {
      for (int i = writers.size() - 1; i >= 0; i--) {
        if (writers.get(i) == range) {
          writers.remove(i);
          break;
        }
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Takes {@code [offset, offset + length)} for the copier once no write inside it is in flight. */
  void lockRange(long offset, long length) throws InterruptedIOException {
    lock.lock();
    try {
      copyStart = offset;
      copyEnd = offset + length;
      while (overlapsWriter()) {
        changed.await();
      }
    } catch (InterruptedException e) {
      copyStart = copyEnd = -1;
      changed.signalAll();
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted waiting for writes to finish");
    } finally {
      lock.unlock();
    }
  }

  /** Releases the copier's range. */
  void unlockRange() {
    lock.lock();
    try {
      copyStart = copyEnd = -1;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private boolean overlapsWriter() {
    for (long[] w : writers) {
      if (w[0] < copyEnd && copyStart < w[1]) {
        return true;
      }
    }
    return false;
  }
}
