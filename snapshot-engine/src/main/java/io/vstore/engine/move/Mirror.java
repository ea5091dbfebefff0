package io.vstore.engine.move;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.StripedLocks;
import io.vstore.blockstore.VolumeInterceptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.StampedLock;

/**
 * The interceptor on a moving volume (ESX 5's mirror driver): every write and zeroing takes the
 * lock of the regions it touches and is applied to the source; the parts of it in regions already
 * copied are applied to the destination too before it is acknowledged, the rest goes to the source
 * only and the copy pass takes it along when it gets there. A region counts as copied when it is
 * below the copy cursor, or when it is not among the regions to copy at all (the destination
 * already equals the source there: the history transplant left the newest snapshot in it, and the
 * source's head has not changed there since), or when a copier marked it done. Copiers copy
 * regions ahead of the cursor without their lock and mark a region done under its lock only if no
 * client write was applied to it meanwhile (else they copy it again under the lock), so a write is
 * either copied or mirrored, never neither; the cursor follows the regions done in order and is
 * what checkpoints persist. Flushes flush both sides.
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
  /**
   * Regions the copiers finished ahead of the cursor (they copy several at once, in any order): one
   * bit per region, set under the region's lock, read by writes under it.
   */
  private final AtomicLongArray done;
  /**
   * How many client writes and zeroings were applied to each region, hashed into a fixed table
   * (regions that share a slot only cost a copier a needless retry): a copier reads a region
   * without its lock and keeps the copy only if the count did not move meanwhile.
   */
  private final AtomicIntegerArray applied = new AtomicIntegerArray(STAMPS);
  private static final int STAMPS = 4096;

  Mirror(BlockDevice destination, long size, long cursor, BitSet pending) {
    this.destination = destination;
    this.cursor = cursor;
    this.pending = pending;
    this.done = new AtomicLongArray((int) ((size + REGION - 1) / REGION / 64 + 1));
  }

  /**
   * Returns whether region {@code r} is copied (below the cursor, done, or never to copy). Under the
   * region's lock the answer holds until it is released; without it, a true answer stays true.
   */
  boolean copied(long r) {
    return r < cursor / REGION || !pending.get((int) r) || (done.get((int) (r >>> 6)) & (1L << r)) != 0;
  }

  /** Marks region {@code r} copied; the caller holds its lock and has made the destination equal the source there. */
  void markDone(long r) {
    done.getAndUpdate((int) (r >>> 6), w -> w | (1L << r));
  }

  /** Returns the count of client changes applied to region {@code r} (or a region sharing its slot) so far. */
  int appliedCount(long r) {
    return applied.get((int) (r % STAMPS));
  }

  /** Counts a client change applied to regions {@code [first, last)}; the caller holds their locks. */
  private void countApplied(long first, long last) {
    if (last - first >= STAMPS) {
      for (int i = 0; i < STAMPS; i++) {
        applied.getAndIncrement(i);
      }
      return;
    }
    for (long r = first; r < last; r++) {
      applied.getAndIncrement((int) (r % STAMPS));
    }
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

  /**
   * Moves the cursor to {@code next}; every region it passes is copied already (then no lock is
   * needed: no region's state changes), or the caller holds the locks of those that are not.
   */
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
      long first = offset / REGION;
      long last = (offset + length - 1) / REGION + 1;
      long mask = locks.lock(first, last);
      try {
        apply.apply();
        countApplied(first, last); // after the change is readable: a copier that read before sees the count move
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
      long first = offset / REGION;
      long last = (offset + length - 1) / REGION + 1;
      long mask = locks.lock(first, last);
      try {
        if (i == null) {
          local.apply();
        } else {
          i.zero(offset, length, discard, local);
        }
        countApplied(first, last);
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
