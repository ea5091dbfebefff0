package io.vstore.blockstore.store;

import io.vstore.blockstore.VolumeInterceptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.StampedLock;

/**
 * The interceptor a volume's head changes go through, if any ({@link Datastore#setInterceptor}):
 * every head write, zeroing and flush of every handle runs through {@link #write}, {@link #zero}
 * and {@link #flush}, which apply it directly when none is set.
 */
final class HeadInterception {
  /** What every head write, zeroing and flush goes through, or null; see {@link #swap}. */
  private volatile VolumeInterceptor interceptor;
  /**
   * Held shared by every head write, zeroing and flush while it reads {@link #interceptor} and runs,
   * exclusively by {@link #swap}: so once a swap returns, no operation that missed the new
   * interceptor is still running (the mover relies on that). A stamped lock, because its shared
   * mode neither allocates nor tracks owners.
   */
  private final StampedLock gate = new StampedLock();

  /**
   * Replaces the interceptor with {@code next} (null: none) once the operations running finish, and
   * returns the one it replaced. The caller must not hold anything such an operation waits for.
   */
  VolumeInterceptor swap(VolumeInterceptor next) {
    long stamp = gate.writeLock();
    try {
      VolumeInterceptor previous = interceptor;
      interceptor = next;
      return previous;
    } finally {
      gate.unlockWrite(stamp);
    }
  }

  /** Writes {@code src} at {@code offset} through {@code writer}, around the interceptor if one is set. */
  void write(long offset, ByteBuffer src, VolumeWriter writer) throws IOException {
    long stamp = gate.readLock();
    try {
      VolumeInterceptor i = interceptor; // read once: the lambda is only made when one is set
      if (i == null) {
        writer.write(offset, src);
      } else {
        i.write(offset, src, () -> writer.write(offset, src));
      }
    } finally {
      gate.unlockRead(stamp);
    }
  }

  /** Zeroes {@code [offset, offset + length)} through {@code writer}, around the interceptor if one is set. */
  void zero(long offset, long length, boolean discard, VolumeWriter writer) throws IOException {
    long stamp = gate.readLock();
    try {
      VolumeInterceptor i = interceptor;
      if (i == null) {
        writer.zero(offset, length);
      } else {
        i.zero(offset, length, discard, () -> writer.zero(offset, length));
      }
    } finally {
      gate.unlockRead(stamp);
    }
  }

  /** Flushes {@code store}, around the interceptor if one is set. */
  void flush(Datastore store) throws IOException {
    long stamp = gate.readLock();
    try {
      VolumeInterceptor i = interceptor;
      if (i == null) {
        store.flush();
      } else {
        i.flush(store::flush);
      }
    } finally {
      gate.unlockRead(stamp);
    }
  }
}
