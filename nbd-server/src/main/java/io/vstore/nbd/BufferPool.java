package io.vstore.nbd;

import io.vstore.blockstore.store.ReadPlan;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Recycles direct buffers for request and reply payloads, in power-of-two size classes from 4 KiB
 * to the 32 MiB maximum payload, so the hot path allocates nothing once warm.
 */
final class BufferPool implements ReadPlan.Scratch {
  private static final int MIN_SHIFT = 12;
  private static final int MAX_SHIFT = 25;

  private final ConcurrentLinkedQueue<ByteBuffer>[] free;
  private final AtomicLong retained = new AtomicLong();
  private final long maxRetained;

  @SuppressWarnings("unchecked")
  BufferPool(long maxRetained) {
    this.maxRetained = maxRetained;
    free = new ConcurrentLinkedQueue[MAX_SHIFT - MIN_SHIFT + 1];
    for (int i = 0; i < free.length; i++) {
      free[i] = new ConcurrentLinkedQueue<>();
    }
  }

  /** Returns a direct buffer with position 0 and limit {@code size}, at most 32 MiB. */
  @Override
  public ByteBuffer acquire(int size) {
    if (size < 0 || size > 1 << MAX_SHIFT) {
      throw new IllegalArgumentException("buffer size " + size + " outside [0, " + (1 << MAX_SHIFT) + "]");
    }
    int cls = sizeClass(size);
    ByteBuffer b = free[cls].poll();
    if (b == null) {
      b = ByteBuffer.allocateDirect(1 << (cls + MIN_SHIFT));
    } else {
      retained.addAndGet(-b.capacity());
    }
    b.clear().limit(size);
    return b;
  }

  /** Gives {@code b} back for reuse, or drops it when the pool holds enough already. */
  @Override
  public void release(ByteBuffer b) {
    if (b == null || !b.isDirect() || Integer.bitCount(b.capacity()) != 1 || b.capacity() < 1 << MIN_SHIFT) {
      return;
    }
    if (retained.addAndGet(b.capacity()) > maxRetained) {
      retained.addAndGet(-b.capacity());
      return;
    }
    free[sizeClass(b.capacity())].offer(b);
  }

  private static int sizeClass(int size) {
    int shift = size <= 1 << MIN_SHIFT ? MIN_SHIFT : 32 - Integer.numberOfLeadingZeros(size - 1);
    return shift - MIN_SHIFT;
  }
}
