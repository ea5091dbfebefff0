package io.vstore.vdisk.qcow2;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.vdisk.qcow2.Qcow2Entries.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The metadata of an open qcow2 image: header, L1 and L2 tables and refcounts, under one lock
 * ({@link #meta}), and the order in which they reach the disk (see the package documentation).
 */
final class Qcow2Tables {
  /** Guards the header, the tables and the refcounts; data I/O happens outside it. */
  final ReentrantLock meta = new ReentrantLock();
  private final String file;
  private final FileChannel channel;
  private final Qcow2Entries layout;
  private final int clusterBits;
  private final boolean syncs;
  private final Qcow2DataFile data;
  @GuardedBy("meta")
  private Qcow2Header header;
  @GuardedBy("meta")
  private final Qcow2L2Cache l2;
  /** Null when read-only. */
  @GuardedBy("meta")
  private final Qcow2Refcounts refcounts;

  /** Creates the metadata of an opened image whose data clusters live in {@code data}; {@code l1} is its L1 table. */
  Qcow2Tables(String file, FileChannel channel, Qcow2Header header, Qcow2Entries layout, long[] l1, boolean readOnly,
      boolean syncs, long fileSize, Qcow2DataFile data) throws IOException {
    this.data = data;
    this.file = file;
    this.channel = channel;
    this.header = header;
    this.layout = layout;
    this.clusterBits = header.clusterBits();
    this.syncs = syncs;
    this.refcounts = readOnly ? null : new Qcow2Refcounts(file, channel, header, fileSize);
    this.l2 = new Qcow2L2Cache(meta, file, channel, header, layout, l1, refcounts, this::flushLocked);
  }

  /** Returns the refcounts (null when read-only), for the compressed writer that allocates under meta. */
  Qcow2Refcounts refcounts() {
    return refcounts;
  }

  /** Returns the current header. */
  Qcow2Header header() {
    meta.lock();
    try {
      return header;
    } finally {
      meta.unlock();
    }
  }

  /** Copies the words of {@code count} entries from guest {@code cluster}, all in one L2 table. */
  @GuardedBy("meta")
  long[] lookup(long cluster, int count) throws IOException {
    return l2.lookup(cluster, count);
  }

  /**
   * Returns the lookup a {@link Qcow2Reader} walks with: it takes the lock, calls {@code checkOpen}
   * under it, and answers null for clusters no L2 table holds, so that a walk over a large
   * unallocated range (most of a sparse 64 TiB image) costs a step per L1 entry, not per cluster.
   */
  Qcow2Reader.Lookup mappedLookup(Runnable checkOpen) {
    return (cluster, count) -> {
      meta.lock();
      try {
        checkOpen.run();
        return l2.lookupMapped(cluster, count);
      } finally {
        meta.unlock();
      }
    };
  }

  /** Allocates {@code count} contiguous host clusters with refcount 1; returns the first one's offset. */
  @GuardedBy("meta")
  long allocate(int count) throws IOException {
    return refcounts.allocate(count);
  }

  /**
   * Points guest {@code cluster} at descriptor {@code word} with subcluster {@code bitmap} (ignored
   * without extended entries), releasing the host clusters the old entry held and the new does not.
   */
  @GuardedBy("meta")
  void set(long cluster, long word, long bitmap) throws IOException {
    Qcow2L2Cache.L2Table t = l2.getForWrite(layout.l1Index(cluster));
    int idx = layout.wordIndex(cluster);
    long old = t.words[idx];
    t.words[idx] = word;
    if (layout.extended) {
      t.words[idx + 1] = bitmap;
    }
    t.dirty = true;
    release(old, word);
  }

  @GuardedBy("meta")
  private void release(long old, long replacement) {
    switch (layout.kind(old)) {
      case NORMAL, ZERO_ALLOC -> {
        if (data.external()) {
          return; // clusters of an external data file are not refcounted
        }
        Kind nk = layout.kind(replacement);
        boolean kept = (nk == Kind.NORMAL || nk == Kind.ZERO_ALLOC)
            && (replacement & Qcow2Entries.OFFSET_MASK) == (old & Qcow2Entries.OFFSET_MASK);
        if (!kept) {
          refcounts.release(old & Qcow2Entries.OFFSET_MASK);
        }
      }
      case COMPRESSED -> {
        long start = layout.compressedOffset(old) & ~511L;
        long end = start + (long) layout.compressedSectors(old) * 512;
        for (long c = start >>> clusterBits; c <= (end - 1) >>> clusterBits; c++) {
          refcounts.release(c << clusterBits);
        }
      }
      default -> {
        // nothing allocated
      }
    }
  }

  /**
   * Repairs the refcounts of an image left dirty (lazy refcounts: a writer may have allocated
   * clusters without counting them): counts every reference, stores the counts, then clears the
   * dirty bit. Done before any write, as QEMU does on opening such an image read-write.
   */
  void rebuildRefcounts(long fileSize) throws IOException {
    meta.lock();
    try {
      char[] refs = Qcow2Check.references(file, channel, header, fileSize);
      for (long c = 0; c < refs.length; c++) {
        if (refcounts.refcount(c) != refs[(int) c]) {
          refcounts.set(c, refs[(int) c]);
        }
      }
      refcounts.writeDirty(this::sync);
      sync();
      if (refcounts.tableMoved()) {
        header = header.withRefcountTable(refcounts.tableOffset(), refcounts.tableClusters());
        refcounts.headerWritten();
      }
      header = header.withFeatures(header.incompatibleFeatures() & ~Qcow2Header.INCOMPAT_DIRTY,
          header.autoclearFeatures());
      writeHeader();
      sync();
    } finally {
      meta.unlock();
    }
  }

  /**
   * Clears the autoclear features vstore does not keep up to date (bitmaps); the raw data file bit
   * stays, since vstore keeps such a data file readable as a raw image.
   */
  void clearAutoclear() throws IOException {
    meta.lock();
    try {
      header = header.withFeatures(header.incompatibleFeatures(), header.autoclearFeatures() & keptAutoclear(header));
      writeHeader();
      channel.force(false);
    } finally {
      meta.unlock();
    }
  }

  /**
   * Makes everything durable in the order that keeps the image consistent after a crash at any
   * point: data, then refcount increments (blocks before the table that points at them, the table
   * before the header), then L2 tables, then L1, and only then the decrements.
   */
  @GuardedBy("meta")
  void flushLocked() throws IOException {
    if (syncs) {
      data.sync(); // data in an external file must be durable before the tables that point at it
    }
    sync();
    if (refcounts.isDirty()) {
      refcounts.writeDirty(this::sync);
      sync();
      if (refcounts.tableMoved()) {
        header = header.withRefcountTable(refcounts.tableOffset(), refcounts.tableClusters());
        writeHeader();
        sync();
        refcounts.headerWritten();
      }
    }
    if (l2.writeDirtyTables()) {
      sync();
    }
    if (l2.writeL1IfDirty()) {
      sync();
    }
    if (refcounts.hasPendingFrees()) {
      refcounts.applyPendingFrees();
      refcounts.writeDirty(this::sync);
      sync();
    }
  }

  /** Returns the autoclear bits vstore maintains in an image with header {@code h}. */
  static long keptAutoclear(Qcow2Header h) {
    return h.dataFileRaw() ? Qcow2Header.AUTOCLEAR_DATA_FILE_RAW : 0;
  }

  /** Syncs the file, unless the image was opened with {@code cache=unsafe} (then order is kept, not durability). */
  private void sync() throws IOException {
    if (syncs) {
      channel.force(false);
    }
  }

  @GuardedBy("meta")
  private void writeHeader() throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(header.encodedLength());
    header.write(buf);
    Qcow2Io.writeFully(channel, 0, buf.flip());
  }
}
