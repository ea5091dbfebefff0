package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.StripedLocks;
import io.vstore.vdisk.qcow2.Qcow2Entries.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The write path of a {@link Qcow2Image}: per guest cluster, write in place, allocate new host
 * clusters (whole, compressed, or only the touched subclusters of an extended L2 entry), or copy
 * on write; then point the L2 entry at the new data. Data is written before the entry that points
 * at it, so a reader holding only {@code meta} for its lookup never sees unwritten data.
 *
 * <p>Writers hold the striped locks of the guest clusters they touch ({@link #lockRange}), so the
 * decision "in place or allocate" and the table update that follows cannot interleave with another
 * writer of the same cluster.
 */
final class Qcow2Writer {
  private final Qcow2Entries layout;
  private final int clusterBits;
  private final int clusterSize;
  private final long size;
  private final Qcow2DataFile data;
  private final FileChannel dataChannel;
  private final Qcow2Tables tables;
  private final ReentrantLock meta;
  private final Qcow2Reader reader;
  private final Qcow2CompressedWriter compressed; // null when read-only
  private final boolean compressWrites;
  private final Runnable checkOpen;
  private final StripedLocks stripes = new StripedLocks(1);

  Qcow2Writer(Qcow2Header header, Qcow2Entries layout, Qcow2DataFile data, Qcow2Tables tables, Qcow2Reader reader,
      Qcow2CompressedWriter compressed, boolean compressWrites, Runnable checkOpen) {
    this.layout = layout;
    this.clusterBits = header.clusterBits();
    this.clusterSize = header.clusterSize();
    this.size = header.size();
    this.data = data;
    this.dataChannel = data.channel();
    this.tables = tables;
    this.meta = tables.meta;
    this.reader = reader;
    this.compressed = compressed;
    this.compressWrites = compressWrites;
    this.checkOpen = checkOpen;
  }

  /** Writes {@code src} at {@code offset} holding the clusters' striped locks; the caller has checked the range. */
  void write(long offset, ByteBuffer src) throws IOException {
    long held = lockRange(offset, src.remaining());
    try {
      writeLocked(offset, src);
    } finally {
      stripes.unlock(held);
    }
  }

  /** Releases the striped locks {@link #lockRange} returned. */
  void unlock(long held) {
    stripes.unlock(held);
  }

  /** Copies the L2 words of {@code count} clusters from {@code cluster} (all in one L2 table). */
  long[] lookup(long cluster, int count) throws IOException {
    meta.lock();
    try {
      checkOpen.run();
      return tables.lookup(cluster, count);
    } finally {
      meta.unlock();
    }
  }

  /** Points {@code cluster} at {@code word} and {@code bitmap}, taking meta. */
  void setEntry(long cluster, long word, long bitmap) throws IOException {
    meta.lock();
    try {
      checkOpen.run();
      tables.set(cluster, word, bitmap);
    } finally {
      meta.unlock();
    }
  }

  /** Writes {@code src} at {@code offset}; the caller holds the striped locks of its clusters. */
  void writeLocked(long offset, ByteBuffer src) throws IOException {
    int st = layout.stride;
    long pos = offset;
    while (src.hasRemaining()) {
      long cluster = pos >>> clusterBits;
      long last = (pos + src.remaining() - 1) >>> clusterBits;
      int count = layout.clustersInTable(cluster, last - cluster + 1);
      long[] words = lookup(cluster, count);
      int i = 0;
      while (i < count && src.hasRemaining()) {
        long e = words[i * st];
        long bitmap = layout.extended ? words[i * st + 1] : 0;
        int inCluster = (int) (pos & (clusterSize - 1));
        int n = Math.min(src.remaining(), clusterSize - inCluster);
        if (layout.inPlace(e) && layout.allocated(bitmap, inCluster, n)) {
          int j = i + 1;
          long total = n;
          while (j < count && total < src.remaining() && layout.inPlace(words[j * st])
              && (words[j * st] & Qcow2Entries.OFFSET_MASK) == (words[(j - 1) * st] & Qcow2Entries.OFFSET_MASK)
                  + clusterSize
              && layout.allocated(layout.extended ? words[j * st + 1] : 0, 0,
                  (int) Math.min(clusterSize, src.remaining() - total))) {
            total += Math.min(clusterSize, src.remaining() - total);
            j++;
          }
          Qcow2Io.writeFully(dataChannel, layout.hostOffset(e, cluster + i) + inCluster,
              src.slice(src.position(), (int) total));
          src.position(src.position() + (int) total);
          pos += total;
          i = j;
          continue;
        }
        if (layout.inPlace(e)) {
          // Extended entry, host cluster ours, some touched subclusters not allocated yet.
          writeSubclusters(cluster + i, layout.hostOffset(e, cluster + i), e, bitmap, inCluster, n, src);
        } else if (n == clusterSize) {
          int j = i + 1;
          while (j < count && src.remaining() >= (long) (j - i + 1) * clusterSize && !layout.inPlace(words[j * st])) {
            j++;
          }
          int k = j - i;
          if (compressWrites) {
            for (int m = 0; m < k; m++) {
              byte[] data = new byte[clusterSize];
              src.get(src.position() + m * clusterSize, data);
              writeCompressed(cluster + i + m, data);
            }
          } else {
            writeNewClusters(cluster + i, k, src.slice(src.position(), k * clusterSize));
          }
          src.position(src.position() + k * clusterSize);
          pos += (long) k * clusterSize;
          i = j;
          continue;
        } else if (layout.extended && layout.kind(e) == Kind.UNALLOCATED) {
          // A new host cluster of which only the touched subclusters become allocated (as QEMU does).
          long host;
          meta.lock();
          try {
            checkOpen.run();
            host = allocateData(cluster + i, 1);
          } finally {
            meta.unlock();
          }
          writeSubclusters(cluster + i, host, host | Qcow2Entries.OFLAG_COPIED, bitmap & Qcow2Entries.ZERO_ALL,
              inCluster, n, src);
        } else {
          // Copy on write of the whole cluster: compressed, shared, or (version 3) a zero cluster.
          byte[] data = reader.cluster(cluster + i);
          src.get(src.position(), data, inCluster, n);
          if (layout.kind(e) == Kind.ZERO_ALLOC && (e & Qcow2Entries.OFLAG_COPIED) != 0) {
            long host = layout.hostOffset(e, cluster + i);
            Qcow2Io.writeFully(dataChannel, host, ByteBuffer.wrap(data));
            setEntry(cluster + i, host | Qcow2Entries.OFLAG_COPIED, 0);
          } else {
            writeNewClusters(cluster + i, 1, ByteBuffer.wrap(data));
          }
        }
        src.position(src.position() + n);
        pos += n;
        i++;
      }
    }
  }

  /**
   * Writes {@code n} bytes of {@code src} at {@code inCluster} of guest {@code cluster} into host
   * cluster {@code host}, filling the rest of the touched subclusters with what they read now, and
   * marks those subclusters allocated.
   */
  private void writeSubclusters(long cluster, long host, long word, long bitmap, int inCluster, int n, ByteBuffer src)
      throws IOException {
    int scs = 1 << layout.subclusterBits;
    int a = inCluster & -scs;
    int b = (inCluster + n + scs - 1) & -scs;
    byte[] buf = new byte[b - a];
    long guest = cluster << clusterBits;
    if (a < inCluster) {
      reader.read(guest + a, ByteBuffer.wrap(buf, 0, (int) Math.min(scs, size - guest - a)));
    }
    if (inCluster + n < b) {
      long tail = guest + b - scs;
      reader.read(tail, ByteBuffer.wrap(buf, b - scs - a, (int) Math.min(scs, size - tail)));
    }
    src.get(src.position(), buf, inCluster - a, n);
    Qcow2Io.writeFully(dataChannel, host + a, ByteBuffer.wrap(buf));
    long m = layout.subclusterBits(a, b, true);
    setEntry(cluster, word, (bitmap | m) & ~(m << 32));
  }

  private void writeNewClusters(long firstCluster, int count, ByteBuffer data) throws IOException {
    long host;
    meta.lock();
    try {
      checkOpen.run();
      host = allocateData(firstCluster, count);
    } finally {
      meta.unlock();
    }
    Qcow2Io.writeFully(dataChannel, host, data);
    meta.lock();
    try {
      checkOpen.run();
      for (int m = 0; m < count; m++) {
        tables.set(firstCluster + m, (host + ((long) m << clusterBits)) | Qcow2Entries.OFLAG_COPIED,
            Qcow2Entries.ALLOC_ALL);
      }
    } finally {
      meta.unlock();
    }
  }

  /**
   * Allocates the host clusters for {@code count} new data clusters from guest {@code firstCluster}:
   * in an external data file the guest offset itself (1:1, not refcounted), else counted clusters.
   */
  private long allocateData(long firstCluster, int count) throws IOException {
    return data.external() ? firstCluster << clusterBits : tables.allocate(count);
  }

  private void writeCompressed(long cluster, byte[] data) throws IOException {
    long e = compressed.write(data);
    if (e < 0) {
      writeNewClusters(cluster, 1, ByteBuffer.wrap(data));
    } else {
      setEntry(cluster, e, 0); // compressed clusters have no subclusters: bitmap 0
    }
  }

  /** Locks the clusters of {@code [offset, offset + length)}; returns the mask for {@code stripes.unlock}. */
  long lockRange(long offset, long length) {
    return stripes.lock(offset >>> clusterBits, ((offset + length - 1) >>> clusterBits) + 1);
  }

}
