package io.vstore.vdisk.qcow2;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.StripedLocks;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageInfo;
import io.vstore.vdisk.UnsupportedFormatException;
import io.vstore.vdisk.qcow2.Qcow2Entries.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An open qcow2 image (version 2 or 3) with its backing chain, as a {@link DiskImage}.
 *
 * <p>Locking: {@link #meta} guards the L1 table, the L2 cache, the refcounts and the header; data
 * I/O happens outside it. Writers also hold the striped locks of the guest clusters they touch, so
 * the decision "write in place or allocate" and the table update that follows cannot interleave
 * with another writer of the same cluster. Readers take only {@link #meta}, for the lookup: a
 * new cluster's data is written before the table entry that points at it.
 */
final class Qcow2Image implements DiskImage {
  private final Path path;
  private final String file;
  private final FileChannel channel;
  private final boolean readOnly;
  private final int clusterBits;
  private final int clusterSize;
  private final long size;
  private final Qcow2Entries layout;
  private final DiskImage backing;
  private final String backingName;
  private final String backingFormat;
  private final boolean compressWrites;
  private final boolean syncs;

  private final ReentrantLock meta = new ReentrantLock();
  private final StripedLocks stripes = new StripedLocks(1);
  @GuardedBy("meta")
  private Qcow2Header header;
  @GuardedBy("meta")
  private final Qcow2L2Cache l2;
  /** Null when read-only. */
  @GuardedBy("meta")
  private final Qcow2Refcounts refcounts;
  private final Qcow2CompressedWriter compressed; // null when read-only
  private final Qcow2Reader reader;
  private volatile boolean closed;

  private Qcow2Image(Path path, FileChannel channel, boolean readOnly, Qcow2Header header, Qcow2Entries entries,
      long[] l1, DiskImage backing, String backingName, String backingFormat, boolean compressWrites, boolean syncs,
      long fileSize) throws IOException {
    this.path = path;
    this.file = path.toString();
    this.channel = channel;
    this.readOnly = readOnly;
    this.header = header;
    this.clusterBits = header.clusterBits();
    this.clusterSize = header.clusterSize();
    this.size = header.size();
    this.layout = entries;
    this.backing = backing;
    this.backingName = backingName;
    this.backingFormat = backingFormat;
    this.compressWrites = compressWrites;
    this.syncs = syncs;
    this.refcounts = readOnly ? null : new Qcow2Refcounts(file, channel, header, fileSize);
    this.l2 = new Qcow2L2Cache(meta, file, channel, header, entries, l1, refcounts, this::flushLocked);
    this.reader = new Qcow2Reader(file, channel, header, entries, backing, this::lookup);
    this.compressed = readOnly ? null : new Qcow2CompressedWriter(meta, channel, refcounts, entries, header);
  }

  /** Opens {@code path}, syncing at every flush. */
  static Qcow2Image open(Path path, boolean readOnly, ImageChainOpener chain, boolean compressWrites)
      throws IOException {
    return open(path, readOnly, chain, compressWrites, true);
  }

  /**
   * Opens {@code path}; with {@code compressWrites}, whole-cluster writes are stored compressed;
   * without {@code syncs}, flushes write in the safe order but do not wait for the disk (qemu's
   * {@code cache=unsafe}, the default of {@code qemu-img convert}).
   */
  static Qcow2Image open(Path path, boolean readOnly, ImageChainOpener chain, boolean compressWrites, boolean syncs)
      throws IOException {
    FileChannel ch = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
        : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    DiskImage backing = null;
    boolean success = false;
    try {
      String file = path.toString();
      long fileSize = ch.size();
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(fileSize, Qcow2Header.V3_LENGTH));
      Qcow2Io.readFully(ch, 0, head, file, "header");
      Qcow2Header h = Qcow2Header.read(head.flip(), file);
      ByteBuffer first = ByteBuffer.allocate((int) Math.min(fileSize, h.clusterSize()));
      Qcow2Io.readFully(ch, 0, first, file, "first cluster");
      Qcow2Extensions ext = Qcow2Extensions.read(h, first.flip(), file);
      if (!readOnly) {
        if ((h.incompatibleFeatures() & Qcow2Header.INCOMPAT_CORRUPT) != 0) {
          throw new UnsupportedFormatException("unsupported qcow2: " + file
              + " is marked corrupt; open it read-only or repair it (qemu-img check -r all)");
        }
        if (h.nbSnapshots() > 0) {
          throw new UnsupportedFormatException("unsupported qcow2: " + file + " has " + h.nbSnapshots()
              + " internal snapshots; vstore writes only images without them (open read-only)");
        }
      }
      Qcow2Entries entries = new Qcow2Entries(file, h.clusterBits());
      long[] l1 = Qcow2L2Cache.readL1(ch, h, entries.l2Entries, file, fileSize);
      if (ext.backingName() != null) {
        backing = chain.openBacking(ImageFormats.resolveBacking(path, ext.backingName()), ext.backingFormat());
      }
      Qcow2Image img = new Qcow2Image(path, ch, readOnly, h, entries, l1, backing, ext.backingName(), ext.backingFormat(),
          compressWrites, syncs, fileSize);
      if (!readOnly && (h.incompatibleFeatures() & Qcow2Header.INCOMPAT_DIRTY) != 0) {
        img.rebuildRefcounts(fileSize);
      }
      if (!readOnly && h.autoclearFeatures() != 0) {
        // Autoclear features (bitmaps, raw data file) describe data vstore does not keep up to date.
        img.header = h.withFeatures(h.incompatibleFeatures(), 0);
        img.writeHeader();
        ch.force(false);
      }
      success = true;
      return img;
    } finally {
      if (!success) {
        try (ch; DiskImage b = backing) {
          // closes both, keeping the first failure
        }
      }
    }
  }

  /**
   * Repairs the refcounts of an image left dirty (lazy refcounts: a writer may have allocated
   * clusters without counting them): counts every reference, stores the counts, then clears the
   * dirty bit. Done before any write, as QEMU does on opening such an image read-write.
   */
  private void rebuildRefcounts(long fileSize) throws IOException {
    char[] refs = Qcow2Check.references(file, channel, header, fileSize);
    meta.lock();
    try {
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

  // ---- lookups ----

  /** Copies the L2 entries of {@code count} clusters from {@code cluster} (all in one L2 table). */
  private long[] lookup(long cluster, int count) throws IOException {
    meta.lock();
    try {
      checkOpen();
      return l2.lookup(cluster, count);
    } finally {
      meta.unlock();
    }
  }

  // ---- reads ----

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, dst.remaining());
    reader.read(offset, dst);
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    return reader.allocation(offset, length);
  }

  // ---- writes ----

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    checkWritable();
    OutOfRangeException.check(this, offset, src.remaining());
    if (!src.hasRemaining()) {
      return;
    }
    long held = lockRange(offset, src.remaining());
    try {
      writeLocked(offset, src);
    } finally {
      stripes.unlock(held);
    }
  }

  private void writeLocked(long offset, ByteBuffer src) throws IOException {
    long pos = offset;
    while (src.hasRemaining()) {
      long cluster = pos >>> clusterBits;
      long last = (pos + src.remaining() - 1) >>> clusterBits;
      int count = layout.clustersInTable(cluster, last - cluster + 1);
      long[] entries = lookup(cluster, count);
      int i = 0;
      while (i < count && src.hasRemaining()) {
        long e = entries[i];
        int inCluster = (int) (pos & (clusterSize - 1));
        int n = Math.min(src.remaining(), clusterSize - inCluster);
        if (layout.inPlace(e)) {
          int j = i + 1;
          long total = n;
          while (j < count && total < src.remaining() && layout.inPlace(entries[j])
              && (entries[j] & Qcow2Entries.OFFSET_MASK) == (entries[j - 1] & Qcow2Entries.OFFSET_MASK) + clusterSize) {
            total += Math.min(clusterSize, src.remaining() - total);
            j++;
          }
          Qcow2Io.writeFully(channel, layout.hostOffset(e, cluster + i) + inCluster, src.slice(src.position(), (int) total));
          src.position(src.position() + (int) total);
          pos += total;
          i = j;
        } else if (n == clusterSize) {
          int j = i + 1;
          while (j < count && src.remaining() >= (long) (j - i + 1) * clusterSize && !layout.inPlace(entries[j])) {
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
        } else {
          byte[] data = reader.cluster(cluster + i);
          src.get(src.position(), data, inCluster, n);
          if (layout.kind(e) == Kind.ZERO_ALLOC && (e & Qcow2Entries.OFLAG_COPIED) != 0) {
            long host = layout.hostOffset(e, cluster + i);
            Qcow2Io.writeFully(channel, host, ByteBuffer.wrap(data));
            setEntry(cluster + i, host | Qcow2Entries.OFLAG_COPIED);
          } else {
            writeNewClusters(cluster + i, 1, ByteBuffer.wrap(data));
          }
          src.position(src.position() + n);
          pos += n;
          i++;
        }
      }
    }
  }

  private void writeNewClusters(long firstCluster, int count, ByteBuffer data) throws IOException {
    long host;
    meta.lock();
    try {
      checkOpen();
      host = refcounts.allocate(count);
    } finally {
      meta.unlock();
    }
    Qcow2Io.writeFully(channel, host, data);
    meta.lock();
    try {
      for (int m = 0; m < count; m++) {
        setEntry(firstCluster + m, (host + ((long) m << clusterBits)) | Qcow2Entries.OFLAG_COPIED);
      }
    } finally {
      meta.unlock();
    }
  }

  private void writeCompressed(long cluster, byte[] data) throws IOException {
    long e = compressed.write(data);
    if (e < 0) {
      writeNewClusters(cluster, 1, ByteBuffer.wrap(data));
      return;
    }
    meta.lock();
    try {
      setEntry(cluster, e);
    } finally {
      meta.unlock();
    }
  }

  /** Points guest {@code cluster} at {@code value}, releasing what the old entry held. Caller holds meta. */
  private void setEntry(long cluster, long value) throws IOException {
    checkOpen();
    Qcow2L2Cache.L2Table t = l2.getForWrite(layout.l1Index(cluster));
    int idx = layout.l2Index(cluster);
    long old = t.words[idx];
    t.words[idx] = value;
    t.dirty = true;
    release(old, value);
  }

  private void release(long old, long replacement) {
    switch (layout.kind(old)) {
      case NORMAL, ZERO_ALLOC -> {
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

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    checkWritable();
    OutOfRangeException.check(this, offset, length);
    if (length == 0) {
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

  @Override
  public void discard(long offset, long length) throws IOException {
    writeZeroes(offset, length, true);
  }

  private void zeroPartial(long offset, long length) throws IOException {
    if (length == 0) {
      return;
    }
    long cluster = offset >>> clusterBits;
    long e = lookup(cluster, 1)[0];
    Kind k = layout.kind(e);
    if (k == Kind.ZERO_PLAIN || k == Kind.ZERO_ALLOC || k == Kind.UNALLOCATED && backingReadsZeros(cluster)) {
      return; // already reads as zeros
    }
    write(offset, ByteBuffer.allocate((int) length));
  }

  /** Returns whether guest cluster {@code c} reads zeros when unallocated here (no backing data behind it). */
  private boolean backingReadsZeros(long c) throws IOException {
    return reader.backingReadsZeros(c << clusterBits, clusterSize);
  }

  private void zeroClusters(long first, long count, boolean unmap) throws IOException {
    boolean v3 = header.version() >= 3;
    long done = 0;
    while (done < count) {
      long cluster = first + done;
      int n = layout.clustersInTable(cluster, count - done);
      long held = lockRange(cluster << clusterBits, (long) n << clusterBits);
      List<Long> physical = new ArrayList<>();
      try {
        meta.lock();
        try {
          checkOpen();
          Qcow2L2Cache.L2Table t = l2.get(layout.l1Index(cluster));
          for (int i = 0; i < n; i++) {
            long c = cluster + i;
            long e = t == null ? 0 : t.words[layout.l2Index(c)];
            Kind k = layout.kind(e);
            boolean underBacking = !backingReadsZeros(c);
            long target;
            if (v3) {
              if (unmap || k == Kind.COMPRESSED || k == Kind.UNALLOCATED || k == Kind.ZERO_PLAIN) {
                target = underBacking ? Qcow2Entries.OFLAG_ZERO : 0;
              } else {
                target = (e & (Qcow2Entries.OFFSET_MASK | Qcow2Entries.OFLAG_COPIED)) | Qcow2Entries.OFLAG_ZERO; // keep the allocation
              }
            } else if (!underBacking && (unmap || !layout.inPlace(e))) {
              target = 0;
            } else if (k == Kind.UNALLOCATED && !underBacking) {
              target = 0;
            } else {
              physical.add(c); // version 2 has no zero flag: zeros must be stored
              continue;
            }
            if (target != e) {
              setEntry(c, target);
            }
          }
        } finally {
          meta.unlock();
        }
        ByteBuffer zeros = ByteBuffer.allocate(clusterSize);
        for (long c : physical) {
          writeLocked(c << clusterBits, zeros.clear().limit((int) Math.min(clusterSize, size - (c << clusterBits))));
        }
      } finally {
        stripes.unlock(held);
      }
      done += n;
    }
  }

  // ---- flush and close ----

  @Override
  public void flush() throws IOException {
    checkOpen();
    if (readOnly) {
      return;
    }
    meta.lock();
    try {
      flushLocked();
    } finally {
      meta.unlock();
    }
  }

  /**
   * Makes everything durable in the order that keeps the image consistent after a crash at any
   * point: data, then refcount increments (blocks before the table that points at them, the table
   * before the header), then L2 tables, then L1, and only then the decrements. Caller holds meta.
   */
  private void flushLocked() throws IOException {
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

  /** Syncs the file, unless the image was created with {@code cache=unsafe} (then order is kept, not durability). */
  private void sync() throws IOException {
    if (syncs) {
      channel.force(false);
    }
  }

  private void writeHeader() throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(header.encodedLength());
    header.write(buf);
    Qcow2Io.writeFully(channel, 0, buf.flip());
  }

  @Override
  public void close() throws IOException {
    meta.lock();
    try {
      if (closed) {
        return;
      }
      try (channel; DiskImage b = backing) {
        if (!readOnly) {
          flushLocked();
        }
      } finally {
        closed = true;
      }
    } finally {
      meta.unlock();
    }
  }

  // ---- the rest of DiskImage ----

  @Override
  public Path path() {
    return path;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public Optional<DiskImage> backing() {
    return Optional.ofNullable(backing);
  }

  @Override
  public ImageInfo info() throws IOException {
    checkOpen();
    Qcow2Header h;
    meta.lock();
    try {
      h = header;
    } finally {
      meta.unlock();
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("compat", h.version() == 3 ? "1.1" : "0.10");
    details.put("refcount_bits", 1 << h.refcountOrder());
    details.put("compression_type", h.compressionType() == Qcow2Header.COMPRESSION_ZSTD ? "zstd" : "zlib");
    details.put("lazy_refcounts", (h.compatibleFeatures() & Qcow2Header.COMPAT_LAZY_REFCOUNTS) != 0);
    details.put("dirty", (h.incompatibleFeatures() & Qcow2Header.INCOMPAT_DIRTY) != 0);
    details.put("corrupt", (h.incompatibleFeatures() & Qcow2Header.INCOMPAT_CORRUPT) != 0);
    details.put("snapshots", h.nbSnapshots());
    if (backingFormat != null) {
      details.put("backing_format", backingFormat);
    }
    return new ImageInfo(file, Qcow2Format.NAME, h.version() == 3 ? "v3" : "v2", size, channel.size(), clusterSize,
        backingName, List.of(file), details);
  }

  /** Locks the clusters of {@code [offset, offset + length)}; returns the mask for {@code stripes.unlock}. */
  private long lockRange(long offset, long length) {
    return stripes.lock(offset >>> clusterBits, ((offset + length - 1) >>> clusterBits) + 1);
  }


  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException(this);
    }
  }

  private void checkWritable() throws ReadOnlyDeviceException {
    checkOpen();
    if (readOnly) {
      throw new ReadOnlyDeviceException(this);
    }
  }

  @Override
  public String toString() {
    return "qcow2 image " + file;
  }
}
