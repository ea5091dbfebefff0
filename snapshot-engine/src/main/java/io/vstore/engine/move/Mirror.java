package io.vstore.engine.move;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.StripedLocks;
import io.vstore.blockstore.VolumeInterceptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.StampedLock;

/**
 * The interceptor on a moving volume (ESX 5's mirror driver): every write and zeroing takes the
 * lock of the regions it touches, is applied to the source, and the part of it below the copy
 * cursor (regions already copied) is applied to the destination too before it is acknowledged;
 * the part above goes to the source only, and the copy pass takes it along when it gets there.
 * The copier copies a region and moves the cursor past it under the same region lock, so a write
 * is either copied or mirrored, never neither. Flushes flush both sides.
 *
 * <p>Mirroring only below the cursor (never the part of a write that reaches above it) keeps the
 * destination above the cursor untouched by mirroring, which is what makes resuming at a persisted
 * cursor simple. {@link #holdWrites} holds every new write, zeroing and flush (the NBD connection
 * stays up; requests wait) for the checkpoints and the switch-over.
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

  Mirror(BlockDevice destination, long cursor) {
    this.destination = destination;
    this.cursor = cursor;
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
        long below = Math.min(length, cursor - offset);
        if (below > 0) {
          destination.write(offset, copy.limit(copy.position() + (int) below));
          mirroredBytes.add(below);
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
        long below = Math.min(length, cursor - offset);
        if (below > 0) {
          // The source now reads zeros there; so must the copy, whichever way the client asked.
          destination.writeZeroes(offset, below, true);
        }
      } finally {
        locks.unlock(mask);
      }
    } finally {
      hold.unlockRead(stamp);
    }
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
