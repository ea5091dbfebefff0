package io.vstore.engine.move;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32C;

/**
 * The copy pass's unit of work: one region of a moving volume copied from the source's head to the
 * destination's, kept only if no client changed it meanwhile, and the bytes it copied counted (the
 * floor "copied <= 1.05 x unique" is measured on them). Used by {@link VolumeMove}'s copiers and by
 * the reconciliation of copied regions at resume. It keeps the checksum of what it read from the
 * source, so that verification reads only the destination where no client changed a region since.
 */
final class RegionCopy {
  private static final int REGION = Mirror.REGION;
  /** Extents in a region above which it is copied whole rather than extent by extent. */
  private static final int SCATTERED = 8;

  private final String volume;
  private final Volume sourceHead;
  private final Volume destHead;
  private final Mirror mirror;
  private final long size;
  /** Regions of a volume up to which copy-time checksums are kept (1 TiB: 9 MiB of arrays). */
  private static final int MAX_CHECKSUMMED = 1 << 20;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(REGION).asReadOnlyBuffer();
  private final LongAdder copiedBytes = new LongAdder();
  /**
   * Per region: the CRC32C of what the copy read from the source, and the mirror's count of client
   * changes when it was marked done (its lock held); set by one copier each, read after they are
   * joined. Null for a volume of more than {@link #MAX_CHECKSUMMED} regions.
   */
  private final int[] copiedCrcs;
  private final int[] copiedStamps;
  private final boolean[] checksummed;

  RegionCopy(String volume, Volume sourceHead, Volume destHead, Mirror mirror, long size) {
    this.volume = volume;
    this.sourceHead = sourceHead;
    this.destHead = destHead;
    this.mirror = mirror;
    this.size = size;
    long regions = (size + REGION - 1) / REGION;
    boolean keep = regions <= MAX_CHECKSUMMED;
    this.copiedCrcs = keep ? new int[(int) regions] : null;
    this.copiedStamps = keep ? new int[(int) regions] : null;
    this.checksummed = keep ? new boolean[(int) regions] : null;
  }

  /**
   * Returns the CRC32C of region {@code r} of the source as this move's copy read it, if no client
   * changed the region since (then the source still reads so: verification need not read it
   * again), else -1. Call once the copy pass is over.
   */
  long sourceChecksum(int r) {
    if (checksummed == null || !checksummed[r] || copiedStamps[r] != mirror.appliedCount(r)) {
      return -1; // a count that moved may be another region's sharing its slot: only a needless read
    }
    return Integer.toUnsignedLong(copiedCrcs[r]);
  }

  /** Returns the bytes of data copied so far. */
  long copiedBytes() {
    return copiedBytes.sum();
  }

  /** Returns where the first DATA extent (or, if {@code dataOnly} is false, anything but a hole) starts, or {@code none}. */
  static long firstOf(List<Extent> extents, boolean dataOnly, long none) {
    for (Extent e : extents) {
      if (dataOnly ? e.kind() == Extent.Kind.DATA : e.kind() != Extent.Kind.HOLE) {
        return e.offset();
      }
    }
    return none;
  }

  /**
   * Makes region {@code r} of the destination equal the source's and marks it copied: first
   * without the region's lock (the mirror never writes a region still to copy, and only this
   * copier copies it), then, under the lock, keeps that copy if no client changed the region since
   * it began, or copies it again under the lock. Either way a client write lands in the copy or is
   * mirrored after it, never neither.
   */
  void copy(long r, ByteBuffer buffer) throws IOException {
    int before = mirror.appliedCount(r);
    long crc = copyLocked(r, buffer);
    long mask = mirror.lock(r, r + 1);
    try {
      if (mirror.appliedCount(r) != before) {
        crc = copyLocked(r, buffer); // a client changed it meanwhile: the copy may hold either version
      }
      mirror.markDone(r);
      if (checksummed != null && crc >= 0) {
        // Regions sharing r's count slot share its lock too (4096 slots, 64 stripes): it holds still.
        copiedCrcs[(int) r] = (int) crc;
        copiedStamps[(int) r] = mirror.appliedCount(r);
        checksummed[(int) r] = true;
      }
    } finally {
      mirror.unlock(mask);
    }
  }

  /**
   * Copies the source's data extents of region {@code r} and zeros what the destination holds
   * where the source reads zeros (left there by a copy before a crash). Under the region's lock,
   * or without it in a region the mirror does not write yet, knowing a client may change it.
   * Returns the CRC32C of the region as read from the source (zeros where it reads zeros), or -1
   * if the extents did not cover it.
   */
  long copyLocked(long r, ByteBuffer buffer) throws IOException {
    long start = r * REGION;
    long length = Math.min(REGION, size - start);
    List<Extent> extents = sourceHead.allocation(start, length);
    CRC32C crc = new CRC32C();
    if (extents.size() > SCATTERED) {
      // A region a client wrote at random is hundreds of small extents: one read and one write of the
      // whole region (all-zero blocks store nothing) instead of a read and a write per extent.
      ByteBuffer b = buffer.clear().limit((int) length);
      sourceHead.read(start, b);
      crc.update(b.flip().duplicate());
      destHead.write(start, b);
      for (Extent e : extents) {
        if (e.kind() == Extent.Kind.DATA) {
          copiedBytes.add(e.length());
        }
      }
      return crc.getValue();
    }
    long covered = start;
    for (Extent e : extents) {
      covered = e.offset() == covered ? e.end() : -1;
      if (e.kind() == Extent.Kind.DATA) {
        ByteBuffer b = buffer.clear().limit((int) e.length());
        sourceHead.read(e.offset(), b);
        crc.update(b.flip().duplicate());
        destHead.write(e.offset(), b);
        copiedBytes.add(e.length());
      } else {
        crc.update(ZEROS.duplicate().limit((int) Math.min(e.length(), REGION))); // longer: not covering, see below
        if (firstOf(destHead.allocation(e.offset(), e.length()), false, -1) >= 0) {
          destHead.writeZeroes(e.offset(), e.length(), true);
        }
      }
    }
    return covered == start + length ? crc.getValue() : -1;
  }

  /**
   * Sleeps as long as {@code rate} (bytes per second, 0 for none) asks of a copy pass that began at
   * {@code started}; the limit applies to the copy pass only, never to client writes.
   */
  void throttle(long started, long rate) {
    if (rate <= 0) {
      return;
    }
    long due = started + (long) (copiedBytes.sum() * 1e9 / rate);
    long wait = due - System.nanoTime();
    if (wait > 0) {
      try {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CancellationException("the move of " + volume + " was interrupted");
      }
    }
  }
}
