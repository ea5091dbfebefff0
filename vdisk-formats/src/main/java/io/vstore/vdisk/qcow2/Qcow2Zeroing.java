package io.vstore.vdisk.qcow2;

import io.vstore.vdisk.qcow2.Qcow2Entries.Kind;
import io.vstore.vdisk.qcow2.Qcow2Entries.State;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Write-zeroes and discard of a {@link Qcow2Image}: whole clusters become zero clusters (version 3),
 * unallocated ones (nothing behind them in the backing chain) or stored zeros (version 2, which has
 * no zero flag); parts of clusters become zero subclusters (extended L2 entries) or zeros written
 * through the {@link Qcow2Writer}, unless they read as zeros already. A raw external data file gets
 * its zeros written, since it must read as the guest disk by itself.
 */
final class Qcow2Zeroing {
  private final Qcow2Entries layout;
  private final int clusterBits;
  private final int clusterSize;
  private final long size;
  private final Qcow2DataFile data;
  private final Qcow2Tables tables;
  private final ReentrantLock meta;
  private final Qcow2Reader reader;
  private final Qcow2Writer writer;
  private final Runnable checkOpen;

  Qcow2Zeroing(Qcow2Header header, Qcow2Entries layout, Qcow2DataFile data, Qcow2Tables tables, Qcow2Reader reader,
      Qcow2Writer writer, Runnable checkOpen) {
    this.layout = layout;
    this.clusterBits = header.clusterBits();
    this.clusterSize = header.clusterSize();
    this.size = header.size();
    this.data = data;
    this.tables = tables;
    this.meta = tables.meta;
    this.reader = reader;
    this.writer = writer;
    this.checkOpen = checkOpen;
  }

  /** Zeroes {@code [offset, offset + length)}, a checked, non-empty range. */
  void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    if (data.raw()) {
      // The raw data file must read as the guest disk by itself: zeros go into it (as QEMU does).
      ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
      for (long p = offset; p < offset + length; p += zeros.capacity()) {
        writer.write(p, zeros.clear().limit((int) Math.min(zeros.capacity(), offset + length - p)));
      }
      return;
    }
    long end = offset + length;
    long firstFull = (offset + clusterSize - 1) & -clusterSize;
    long lastFull = end == size ? ((end + clusterSize - 1) & -clusterSize) : end & -clusterSize;
    if (firstFull >= lastFull) {
      // No whole cluster inside: at most the tail of one cluster and the head of the next.
      long mid = Math.min(end, firstFull);
      zeroPartial(offset, mid - offset);
      zeroPartial(mid, end - mid);
      return;
    }
    if (offset < firstFull) {
      zeroPartial(offset, firstFull - offset);
    }
    zeroClusters(firstFull >>> clusterBits, (lastFull - firstFull) >>> clusterBits, mayUnmap);
    if (lastFull < end) {
      zeroPartial(lastFull, end - lastFull);
    }
  }

  /** Zeroes {@code [offset, offset + length)}, which lies inside one cluster. */
  private void zeroPartial(long offset, long length) throws IOException {
    if (length == 0) {
      return;
    }
    long cluster = offset >>> clusterBits;
    if (!layout.extended) {
      long e = writer.lookup(cluster, 1)[0];
      Kind k = layout.kind(e);
      if (k == Kind.ZERO_PLAIN || k == Kind.ZERO_ALLOC || k == Kind.UNALLOCATED && backingReadsZeros(cluster)) {
        return; // already reads as zeros
      }
      writer.write(offset, ByteBuffer.allocate((int) length));
      return;
    }
    long guest = cluster << clusterBits;
    int from = (int) (offset - guest);
    int to = (int) (offset + length == size ? ((offset + length - guest + clusterSize - 1) & -clusterSize)
        : offset + length - guest);
    to = Math.min(to, clusterSize);
    long whole = layout.subclusterBits(from, to, true);
    int scs = 1 << layout.subclusterBits;
    int a = whole == 0 ? to : Long.numberOfTrailingZeros(whole) * scs;
    int b = whole == 0 ? to : (64 - Long.numberOfLeadingZeros(whole)) * scs;
    // The parts of subclusters the range only touches are written as zeros unless they read so already.
    zeroBytes(cluster, from, Math.min(a, to));
    zeroBytes(cluster, Math.max(b, from), (int) Math.min(to, offset + length - guest));
    if (whole != 0) {
      long held = writer.lockRange(guest, clusterSize);
      try {
        long[] w = writer.lookup(cluster, 1);
        if (layout.kind(w[0]) == Kind.COMPRESSED) {
          writer.writeLocked(guest + a, ByteBuffer.allocate((int) Math.min(b - a, size - guest - a)));
          return;
        }
        long change = 0;
        for (int sc = a / scs; sc < b / scs; sc++) {
          State s = layout.state(w[0], w[1], sc, cluster);
          if (s == State.DATA || s == State.BACKING && !reader.backingReadsZeros(guest + (long) sc * scs, scs)) {
            change |= 1L << sc;
          }
        }
        if (change != 0) {
          writer.setEntry(cluster, w[0], (w[1] & ~change) | (change << 32));
        }
      } finally {
        writer.unlock(held);
      }
    }
  }

  /** Writes zeros to {@code [from, to)} of {@code cluster} unless every subcluster it touches reads zeros already. */
  private void zeroBytes(long cluster, int from, int to) throws IOException {
    if (from >= to) {
      return;
    }
    long guest = cluster << clusterBits;
    long[] w = writer.lookup(cluster, 1);
    for (int sc = from >>> layout.subclusterBits; sc <= (to - 1) >>> layout.subclusterBits; sc++) {
      State s = layout.state(w[0], w[1], sc, cluster);
      if (s != State.ZERO && !(s == State.BACKING && reader.backingReadsZeros(guest + from, to - from))) {
        writer.write(guest + from, ByteBuffer.allocate(to - from));
        return;
      }
    }
  }

  /** Returns whether guest cluster {@code c} reads zeros when unallocated here (no backing data behind it). */
  private boolean backingReadsZeros(long c) throws IOException {
    return reader.backingReadsZeros(c << clusterBits, clusterSize);
  }

  private void zeroClusters(long first, long count, boolean unmap) throws IOException {
    boolean v3 = tables.header().version() >= 3;
    int st = layout.stride;
    long done = 0;
    while (done < count) {
      long cluster = first + done;
      int n = layout.clustersInTable(cluster, count - done);
      long held = writer.lockRange(cluster << clusterBits, (long) n << clusterBits);
      List<Long> physical = new ArrayList<>();
      try {
        meta.lock();
        try {
          checkOpen.run();
          long[] words = tables.lookup(cluster, n);
          for (int i = 0; i < n; i++) {
            long c = cluster + i;
            long e = words[i * st];
            long bitmap = layout.extended ? words[i * st + 1] : 0;
            Kind k = layout.kind(e);
            boolean underBacking = !backingReadsZeros(c);
            long target;
            long targetBitmap = 0;
            if (v3) {
              boolean drop = unmap || k == Kind.COMPRESSED || k == Kind.UNALLOCATED || k == Kind.ZERO_PLAIN;
              long kept = e & (Qcow2Entries.OFFSET_MASK | Qcow2Entries.OFLAG_COPIED); // keep the allocation
              if (layout.extended) {
                target = drop ? 0 : kept;
                targetBitmap = drop && !underBacking ? 0 : Qcow2Entries.ZERO_ALL;
              } else {
                target = drop ? (underBacking ? Qcow2Entries.OFLAG_ZERO : 0) : kept | Qcow2Entries.OFLAG_ZERO;
              }
            } else if (!underBacking && (unmap || !layout.inPlace(e))) {
              target = 0;
            } else if (k == Kind.UNALLOCATED && !underBacking) {
              target = 0;
            } else {
              physical.add(c); // version 2 has no zero flag: zeros must be stored
              continue;
            }
            if (target != e || targetBitmap != bitmap) {
              tables.set(c, target, targetBitmap);
            }
          }
        } finally {
          meta.unlock();
        }
        ByteBuffer zeros = ByteBuffer.allocate(clusterSize);
        for (long c : physical) {
          writer.writeLocked(c << clusterBits, zeros.clear().limit((int) Math.min(clusterSize, size - (c << clusterBits))));
        }
      } finally {
        writer.unlock(held);
      }
      done += n;
    }
  }
}
