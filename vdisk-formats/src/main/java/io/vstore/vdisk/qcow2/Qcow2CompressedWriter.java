package io.vstore.vdisk.qcow2;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Stores whole clusters compressed, packing them one after another into host clusters as QEMU
 * does (a host cluster shared by several compressed clusters has one reference per cluster).
 */
final class Qcow2CompressedWriter {
  private final ReentrantLock meta;
  private final FileChannel channel;
  private final Qcow2Refcounts refcounts;
  private final Qcow2Entries entries;
  private final int clusterBits;
  private final int clusterSize;
  private final int compressionType;
  /** Host cluster being filled with compressed data, or -1. */
  @GuardedBy("meta")
  private long compCluster = -1;
  @GuardedBy("meta")
  private int compUsed;

  /** Creates a writer that allocates from {@code refcounts} under {@code meta}. */
  Qcow2CompressedWriter(ReentrantLock meta, FileChannel channel, Qcow2Refcounts refcounts, Qcow2Entries entries,
      Qcow2Header header) {
    this.meta = meta;
    this.channel = channel;
    this.refcounts = refcounts;
    this.entries = entries;
    this.clusterBits = header.clusterBits();
    this.clusterSize = header.clusterSize();
    this.compressionType = header.compressionType();
  }

  /**
   * Compresses and stores {@code cluster}; returns the L2 descriptor that points at it, or -1 when
   * the data does not compress (the caller then stores it uncompressed). Takes meta to allocate.
   */
  long write(byte[] cluster) throws IOException {
    byte[] c = Qcow2Codec.compress(compressionType, cluster);
    if (c == null) {
      return -1;
    }
    long off;
    meta.lock();
    try {
      off = allocate(c.length);
    } finally {
      meta.unlock();
    }
    Qcow2Io.writeFully(channel, off, ByteBuffer.wrap(c));
    return entries.compressed(off, c.length);
  }

  /** Finds room for {@code length} compressed bytes, packing them after the previous ones. */
  @GuardedBy("meta")
  private long allocate(int length) throws IOException {
    if (compCluster >= 0 && refcounts.refcount(compCluster) < refcounts.maxRefcount()) {
      long c = compCluster;
      if (compUsed + length <= clusterSize) {
        refcounts.increment(c);
        long off = (c << clusterBits) + compUsed;
        compUsed += length;
        return off;
      }
      if (compUsed < clusterSize && refcounts.canExtend(c)) {
        long next = refcounts.allocateAtEnd(1);
        if (next == (c + 1) << clusterBits) {
          refcounts.increment(c);
          long off = (c << clusterBits) + compUsed;
          compCluster = c + 1;
          compUsed = compUsed + length - clusterSize;
          return off;
        }
        compCluster = next >>> clusterBits;
        compUsed = length;
        return next;
      }
    }
    long off = refcounts.allocateAtEnd(1);
    compCluster = off >>> clusterBits;
    compUsed = length;
    return off;
  }
}
