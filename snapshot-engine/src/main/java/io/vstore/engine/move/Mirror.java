package io.vstore.engine.move;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.StripedLocks;
import io.vstore.blockstore.VolumeInterceptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.StampedLock;

/**
 * The interceptor on a moving volume (ESX 5's mirror driver): every write and zeroing takes the
 * lock of the regions it touches and is applied to the source; the parts of it in regions already
 * copied are applied to the destination too before it is acknowledged, the rest goes to the source
 * only and the copy pass takes it along when it gets there. A region counts as copied when it is
 * below the copy cursor, or when it is not among the regions to copy at all (the destination
 * already equals the source there: the history transplant left the newest snapshot in it, and the
 * source's head has not changed there since). The copier copies a region and moves the cursor past
 * it under the same region lock, so a write is either copied or mirrored, never neither. Flushes
 * flush both sides.
 *
 * <p>Regions still to copy are never written by mirroring, so the destination holds there only
 * what the copy wrote. {@link #holdWrites} holds every new write, zeroing and flush (the NBD
 * connection stays up; requests wait) for the switch-over.
 */
final class Mirror implements VolumeInterceptor {
  /** The unit of copying and locking: 1 MiB. */
  static final int REGION = 1 << 20;
  private final BlockDevice destination;
  /** One stripe per region unit; 64 stripes, so regions 64 MiB apart share a lock, which only costs waiting. */
  private final StripedLocks locks = new StripedLocks(1);
  /** Shared by each client operation, exclusive while writes are held. */
  private final StampedLock hold = new StampedLock();
  private final LongAdder mirroredBytes = new LongAdder();
  /** An interceptor that was on the volume before the mirror (replication), applied as the local operation; or null. */
  private volatile VolumeInterceptor inner;
  /** Every region below it has been copied; region-aligned, or the volume's size. Moved under the region's lock. */
  private volatile long cursor;
  /**
   * The regions the copy pass has to copy (the source's head differs there from what the
   * destination started with); every other region counts as copied, wherever the cursor is. Bits
   * are only added, under every region's lock.
   */
  private final BitSet pending;

  Mirror(BlockDevice destination, long cursor, BitSet pending) {
    this.destination = destination;
    this.cursor = cursor;
    this.pending = pending;
  }

  /** Returns whether region {@code r} is copied (below the cursor, or never to copy); the caller holds its lock. */
  boolean copied(long r) {
    return r < cursor / REGION || !pending.get((int) r);
  }

  /** Returns the first region at or after {@code r} that is still to copy, or -1. */
  long nextPending(long r) {
    return pending.nextSetBit((int) r);
  }

  /** Adds regions to copy; the caller holds every region's lock. */
  void addPending(BitSet regions) {
    pending.or(regions);
  }

  /** Makes {@code previous}, the interceptor the mirror replaced, part of every local operation. */
  void chain(VolumeInterceptor previous) {
    inner = previous;
  }

  /** Sets the cursor back to {@code to} (resuming from scratch); the caller holds every region's lock. */
  void reset(long to) {
    cursor = to;
  }

  /** Returns the copy cursor. */
  long cursor() {
    return cursor;
  }

  /** Moves the cursor to {@code next}; the caller holds the locks of every region it passes. */
  void advance(long next) {
    assert next >= cursor : next + " < " + cursor;
    cursor = next;
  }

  /** Locks regions {@code [first, last)} against client writes; returns the mask for {@link #unlock}. */
  long lock(long first, long last) {
    return locks.lock(first, last);
  }

  /** Locks every region. */
  long lockAll() {
    return locks.lock(0, Long.MAX_VALUE);
  }

  /** Unlocks what {@link #lock} or {@link #lockAll} locked. */
  void unlock(long mask) {
    locks.unlock(mask);
  }

  /** Holds every new write, zeroing and flush until {@link #release}; returns once those running are done. */
  long holdWrites() {
    return hold.writeLock();
  }

  /** Releases what {@link #holdWrites} held. */
  void release(long stamp) {
    hold.unlockWrite(stamp);
  }

  /** Returns the bytes mirrored to the destination so far. */
  long mirroredBytes() {
    return mirroredBytes.sum();
  }

  @Override
  public void write(long offset, ByteBuffer src, Local local) throws IOException {
    int length = src.remaining();
    if (length == 0) {
      local.apply();
      return;
    }
    ByteBuffer copy = src.duplicate(); // apply() consumes src
    VolumeInterceptor i = inner;
    Local apply = i == null ? local : () -> i.write(offset, src, local);
    long stamp = hold.readLock();
    try {
      long mask = locks.lock(offset / REGION, (offset + length - 1) / REGION + 1);
      try {
        apply.apply();
        long end = offset + length;
        for (long at = offset; at < end; ) {
          long runEnd = runEnd(at, end);
          if (copied(at / REGION)) {
            int from = copy.position() + (int) (at - offset);
            destination.write(at, copy.duplicate().limit(from + (int) (runEnd - at)).position(from));
            mirroredBytes.add(runEnd - at);
          }
          at = runEnd;
        }
      } finally {
        locks.unlock(mask);
      }
    } finally {
      hold.unlockRead(stamp);
    }
  }

  @Override
  public void zero(long offset, long length, boolean discard, Local local) throws IOException {
    if (length == 0) {
      local.apply();
      return;
    }
    VolumeInterceptor i = inner;
    long stamp = hold.readLock();
    try {
      long mask = locks.lock(offset / REGION, (offset + length - 1) / REGION + 1);
      try {
        if (i == null) {
          local.apply();
        } else {
          i.zero(offset, length, discard, local);
        }
        long end = offset + length;
        for (long at = offset; at < end; ) {
          long runEnd = runEnd(at, end);
          if (copied(at / REGION)) {
            // The source now reads zeros there; so must the copy, whichever way the client asked.
            destination.writeZeroes(at, runEnd - at, true);
          }
          at = runEnd;
        }
      } finally {
        locks.unlock(mask);
      }
    } finally {
      hold.unlockRead(stamp);
    }
  }

  /** Returns where the run of regions starting at {@code at} that are all copied, or all not, ends (at most {@code end}). */
  private long runEnd(long at, long end) {
    boolean c = copied(at / REGION);
    long next = Math.min(end, (at / REGION + 1) * REGION);
    while (next < end && copied(next / REGION) == c) {
      next = Math.min(end, next + REGION);
    }
    return next;
  }

  @Override
  public void flush(Local local) throws IOException {
    VolumeInterceptor i = inner;
    long stamp = hold.readLock();
    try {
      if (i == null) {
        local.apply();
      } else {
        i.flush(local);
      }
      destination.flush();
    } finally {
      hold.unlockRead(stamp);
    }
  }
}
