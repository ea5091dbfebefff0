package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.StripedLocks;
import io.vstore.blockstore.store.ChannelOpener;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageInfo;
import io.vstore.vdisk.UnsupportedFormatException;
import io.vstore.vdisk.qcow2.Qcow2Entries.Kind;
import io.vstore.vdisk.qcow2.Qcow2Entries.State;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An open qcow2 image (version 2 or 3, plain or extended L2 entries) with its backing chain, as a
 * {@link DiskImage}.
 *
 * <p>Locking: the tables' {@code meta} lock guards the L1 table, the L2 cache, the refcounts and
 * the header; data I/O happens outside it. Writers also hold the striped locks of the guest
 * clusters they touch, so the decision "write in place or allocate" and the table update that
 * follows cannot interleave with another writer of the same cluster. Readers take only meta, for
 * the lookup: new data is written before the table entry (or subcluster bit) that points at it.
 */
final class Qcow2Image implements DiskImage {
  private final Path path;
  private final String file;
  private final FileChannel channel;
  private final Qcow2DataFile data;
  private final FileChannel dataChannel;
  private final boolean readOnly;
  private final int clusterBits;
  private final int clusterSize;
  private final long size;
  private final Qcow2Entries layout;
  private final DiskImage backing;
  private final String backingName;
  private final String backingFormat;
  private final boolean compressWrites;
  private final Qcow2Tables tables;
  private final ReentrantLock meta;
  private final StripedLocks stripes = new StripedLocks(1);
  private final Qcow2CompressedWriter compressed; // null when read-only
  private final Qcow2Reader reader;
  private volatile boolean closed;

  private Qcow2Image(Path path, FileChannel channel, boolean readOnly, Qcow2Header header, Qcow2Entries layout,
      long[] l1, DiskImage backing, Qcow2Extensions ext, boolean compressWrites, boolean syncs, long fileSize,
      Qcow2DataFile data) throws IOException {
    this.path = path;
    this.file = path.toString();
    this.channel = channel;
    this.data = data;
    this.dataChannel = data.channel();
    this.readOnly = readOnly;
    this.clusterBits = header.clusterBits();
    this.clusterSize = header.clusterSize();
    this.size = header.size();
    this.layout = layout;
    this.backing = backing;
    this.backingName = ext.backingName();
    this.backingFormat = ext.backingFormat();
    this.compressWrites = compressWrites && !data.external(); // a data file cannot hold compressed clusters
    this.tables = new Qcow2Tables(file, channel, header, layout, l1, readOnly, syncs, fileSize, data);
    this.meta = tables.meta;
    this.reader = new Qcow2Reader(file, channel, dataChannel, header, layout, backing, tables.mappedLookup(this::checkOpen));
    this.compressed = readOnly ? null
        : new Qcow2CompressedWriter(meta, channel, tables.refcounts(), layout, header);
  }

  /** Opens {@code path} with the platform's channels, syncing at every flush. */
  static Qcow2Image open(Path path, boolean readOnly, ImageChainOpener chain, boolean compressWrites)
      throws IOException {
    return open(path, readOnly, chain, compressWrites, true, ChannelOpener.DEFAULT);
  }

  /**
   * Opens {@code path} through {@code channels}; with {@code compressWrites}, whole-cluster writes
   * are stored compressed; without {@code syncs}, flushes write in the safe order but do not wait
   * for the disk (qemu's {@code cache=unsafe}, the default of {@code qemu-img convert}).
   */
  static Qcow2Image open(Path path, boolean readOnly, ImageChainOpener chain, boolean compressWrites, boolean syncs,
      ChannelOpener channels) throws IOException {
    FileChannel ch = channels.open(path, readOnly ? Set.of(StandardOpenOption.READ)
        : Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
    DiskImage backing = null;
    Qcow2DataFile data = null;
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
      }
      Qcow2Entries layout = new Qcow2Entries(file, h.clusterBits(), h.extendedL2(), h.hasDataFile());
      long[] l1 = Qcow2L2Cache.readL1(ch, h, layout.l2Entries, file, fileSize);
      data = Qcow2DataFile.open(path, ch, h, ext, readOnly, channels);
      if (ext.backingName() != null) {
        backing = chain.openBacking(ImageFormats.resolveBacking(path, ext.backingName()), ext.backingFormat());
      }
      Qcow2Image img = new Qcow2Image(path, ch, readOnly, h, layout, l1, backing, ext, compressWrites, syncs,
          fileSize, data);
      if (!readOnly && (h.incompatibleFeatures() & Qcow2Header.INCOMPAT_DIRTY) != 0) {
        img.tables.rebuildRefcounts(fileSize);
      }
      if (!readOnly && (h.autoclearFeatures() & ~Qcow2Tables.keptAutoclear(h)) != 0) {
        img.tables.clearAutoclear();
      }
      success = true;
      return img;
    } finally {
      if (!success) {
        try (ch; DiskImage b = backing; Qcow2DataFile d = data) {
          // closes both, keeping the first failure
        }
      }
    }
  }

  /** Copies the L2 words of {@code count} clusters from {@code cluster} (all in one L2 table). */
  private long[] lookup(long cluster, int count) throws IOException {
    meta.lock();
    try {
      checkOpen();
      return tables.lookup(cluster, count);
    } finally {
      meta.unlock();
    }
  }

  /** Points {@code cluster} at {@code word} and {@code bitmap}, taking meta. */
  private void setEntry(long cluster, long word, long bitmap) throws IOException {
    meta.lock();
    try {
      checkOpen();
      tables.set(cluster, word, bitmap);
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
            checkOpen();
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
      checkOpen();
      host = allocateData(firstCluster, count);
    } finally {
      meta.unlock();
    }
    Qcow2Io.writeFully(dataChannel, host, data);
    meta.lock();
    try {
      checkOpen();
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

  // ---- zeroes ----

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    checkWritable();
    OutOfRangeException.check(this, offset, length);
    if (length == 0) {
      return;
    }
    if (data.raw()) {
      // The raw data file must read as the guest disk by itself: zeros go into it (as QEMU does).
      ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
      for (long p = offset; p < offset + length; p += zeros.capacity()) {
        write(p, zeros.clear().limit((int) Math.min(zeros.capacity(), offset + length - p)));
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

  @Override
  public void discard(long offset, long length) throws IOException {
    writeZeroes(offset, length, true);
  }

  /** Zeroes {@code [offset, offset + length)}, which lies inside one cluster. */
  private void zeroPartial(long offset, long length) throws IOException {
    if (length == 0) {
      return;
    }
    long cluster = offset >>> clusterBits;
    if (!layout.extended) {
      long e = lookup(cluster, 1)[0];
      Kind k = layout.kind(e);
      if (k == Kind.ZERO_PLAIN || k == Kind.ZERO_ALLOC || k == Kind.UNALLOCATED && backingReadsZeros(cluster)) {
        return; // already reads as zeros
      }
      write(offset, ByteBuffer.allocate((int) length));
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
      long held = lockRange(guest, clusterSize);
      try {
        long[] w = lookup(cluster, 1);
        if (layout.kind(w[0]) == Kind.COMPRESSED) {
          writeLocked(guest + a, ByteBuffer.allocate((int) Math.min(b - a, size - guest - a)));
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
          setEntry(cluster, w[0], (w[1] & ~change) | (change << 32));
        }
      } finally {
        stripes.unlock(held);
      }
    }
  }

  /** Writes zeros to {@code [from, to)} of {@code cluster} unless every subcluster it touches reads zeros already. */
  private void zeroBytes(long cluster, int from, int to) throws IOException {
    if (from >= to) {
      return;
    }
    long guest = cluster << clusterBits;
    long[] w = lookup(cluster, 1);
    for (int sc = from >>> layout.subclusterBits; sc <= (to - 1) >>> layout.subclusterBits; sc++) {
      State s = layout.state(w[0], w[1], sc, cluster);
      if (s != State.ZERO && !(s == State.BACKING && reader.backingReadsZeros(guest + from, to - from))) {
        write(guest + from, ByteBuffer.allocate(to - from));
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
      long held = lockRange(cluster << clusterBits, (long) n << clusterBits);
      List<Long> physical = new ArrayList<>();
      try {
        meta.lock();
        try {
          checkOpen();
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
      tables.flushLocked();
    } finally {
      meta.unlock();
    }
  }

  @Override
  public void close() throws IOException {
    meta.lock();
    try {
      if (closed) {
        return;
      }
      try (channel; DiskImage b = backing; data) {
        if (!readOnly) {
          tables.flushLocked();
        }
      } finally {
        closed = true;
      }
    } finally {
      meta.unlock();
    }
  }

  // ---- the rest of DiskImage ----

  /** Returns the cluster size in bytes. */
  int clusterSize() {
    return clusterSize;
  }

  /** Returns the number of entries an L2 table holds. */
  int l2Entries() {
    return layout.l2Entries;
  }

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
    return Qcow2Info.of(file, tables.header(), channel.size(), backingName, backingFormat, data);
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
