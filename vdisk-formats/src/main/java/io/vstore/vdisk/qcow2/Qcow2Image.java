package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.StripedLocks;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageInfo;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
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
  static final long OFFSET_MASK = 0x00fffffffffffe00L;
  static final long OFLAG_COPIED = 1L << 63;
  static final long OFLAG_COMPRESSED = 1L << 62;
  static final long OFLAG_ZERO = 1L;
  /** QEMU's limit on the L1 table (QCOW_MAX_L1_SIZE). */
  static final long MAX_L1_BYTES = 32L << 20;
  static final int EXT_END = 0;
  static final int EXT_BACKING_FORMAT = 0xE2792ACA;
  static final int EXT_FEATURE_NAMES = 0x6803f857;
  private static final long L2_CACHE_BYTES = 32L << 20;

  /** Kinds of L2 entry. */
  enum Kind { UNALLOCATED, ZERO_PLAIN, ZERO_ALLOC, NORMAL, COMPRESSED }

  private final Path path;
  private final String file;
  private final FileChannel channel;
  private final boolean readOnly;
  private final int clusterBits;
  private final int clusterSize;
  private final int l2Bits;
  private final int l2Entries;
  private final long size;
  private final int csizeShift;
  private final long csizeMask;
  private final long compressedOffsetMask;
  private final DiskImage backing;
  private final String backingName;
  private final String backingFormat;
  private final boolean compressWrites;
  private final boolean syncs;

  private final ReentrantLock meta = new ReentrantLock();
  private final StripedLocks stripes = new StripedLocks(1);
  private Qcow2Header header; // guarded by meta
  private final long[] l1; // guarded by meta
  private boolean l1Dirty; // guarded by meta
  private final LinkedHashMap<Integer, L2Table> l2Cache = new LinkedHashMap<>(64, 0.75f, true); // guarded by meta
  private final int l2CacheCapacity;
  private final Qcow2Refcounts refcounts; // null when read-only; guarded by meta
  private long compCluster = -1; // host cluster being filled with compressed data; guarded by meta
  private int compUsed; // guarded by meta
  private volatile boolean closed;

  /** One cached L2 table. */
  private static final class L2Table {
    final long[] entries;
    boolean dirty;
    final long offset;

    L2Table(long offset, long[] entries) {
      this.offset = offset;
      this.entries = entries;
    }
  }

  private Qcow2Image(Path path, FileChannel channel, boolean readOnly, Qcow2Header header, long[] l1,
      DiskImage backing, String backingName, String backingFormat, boolean compressWrites, boolean syncs,
      long fileSize) throws IOException {
    this.path = path;
    this.file = path.toString();
    this.channel = channel;
    this.readOnly = readOnly;
    this.header = header;
    this.clusterBits = header.clusterBits();
    this.clusterSize = header.clusterSize();
    this.l2Bits = clusterBits - 3;
    this.l2Entries = 1 << l2Bits;
    this.size = header.size();
    this.csizeShift = 62 - (clusterBits - 8);
    this.csizeMask = (1L << (clusterBits - 8)) - 1;
    this.compressedOffsetMask = (1L << csizeShift) - 1;
    this.l1 = l1;
    this.backing = backing;
    this.backingName = backingName;
    this.backingFormat = backingFormat;
    this.compressWrites = compressWrites;
    this.syncs = syncs;
    this.l2CacheCapacity = (int) Math.max(16, L2_CACHE_BYTES >>> clusterBits);
    this.refcounts = readOnly ? null : new Qcow2Refcounts(file, channel, header, fileSize);
  }

  /** What the first cluster holds beside the fixed header. */
  record Extensions(String backingName, String backingFormat, Map<Integer, String> featureNames) {}

  /** Reads the header extensions and backing file name from the first cluster. */
  static Extensions readExtensions(Qcow2Header h, ByteBuffer first, String file) throws CorruptImageException {
    ByteBuffer b = first.duplicate().order(ByteOrder.BIG_ENDIAN);
    int limit = Math.min(b.limit(), h.clusterSize());
    int pos = h.encodedLength();
    String backingFormat = null;
    Map<Integer, String> names = new TreeMap<>();
    while (pos + 8 <= limit) {
      int type = b.getInt(pos);
      int len = b.getInt(pos + 4);
      if (type == EXT_END) {
        break;
      }
      if (len < 0 || len > limit - pos - 8) {
        throw new CorruptImageException("bad qcow2: " + file + " header extension 0x" + Integer.toHexString(type)
            + " at " + pos + " length " + Integer.toUnsignedString(len) + " runs past the first cluster");
      }
      byte[] data = new byte[len];
      b.get(pos + 8, data);
      if (type == EXT_BACKING_FORMAT) {
        backingFormat = new String(data, StandardCharsets.UTF_8).replace("\0", "");
      } else if (type == EXT_FEATURE_NAMES) {
        for (int i = 0; i + 48 <= len; i += 48) {
          int kind = data[i];
          int bit = data[i + 1];
          String name = new String(data, i + 2, 46, StandardCharsets.UTF_8).replace("\0", "");
          names.put(kind * 64 + bit, name);
        }
      }
      pos += 8 + ((len + 7) & ~7);
    }
    String backingName = null;
    if (h.backingFileOffset() != 0) {
      if (h.backingFileOffset() + h.backingFileSize() > b.limit()) {
        throw new CorruptImageException("bad qcow2: " + file + " backing file name at " + h.backingFileOffset()
            + " is cut off by the end of file");
      }
      byte[] name = new byte[h.backingFileSize()];
      b.get((int) h.backingFileOffset(), name);
      backingName = new String(name, StandardCharsets.UTF_8);
    }
    return new Extensions(backingName, backingFormat, names);
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
      Extensions ext = readExtensions(h, first.flip(), file);
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
      long[] l1 = readL1(ch, h, file, fileSize);
      if (ext.backingName() != null) {
        backing = chain.openBacking(ImageFormats.resolveBacking(path, ext.backingName()), ext.backingFormat());
      }
      Qcow2Image img = new Qcow2Image(path, ch, readOnly, h, l1, backing, ext.backingName(), ext.backingFormat(),
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

  private static long[] readL1(FileChannel ch, Qcow2Header h, String file, long fileSize) throws IOException {
    long l2Coverage = 1L << (h.clusterBits() + h.clusterBits() - 3);
    long needed = (h.size() + l2Coverage - 1) / l2Coverage;
    long l1Size = Integer.toUnsignedLong(h.l1Size());
    if (l1Size < needed) {
      throw new CorruptImageException("bad qcow2: " + file + " L1 table of " + l1Size + " entries is too small for "
          + h.size() + " bytes (needs " + needed + ")");
    }
    if (l1Size * 8 > MAX_L1_BYTES) {
      throw new CorruptImageException("bad qcow2: " + file + " L1 table of " + l1Size + " entries exceeds "
          + MAX_L1_BYTES + " bytes");
    }
    long off = h.l1TableOffset();
    if (l1Size > 0 && (off <= 0 || (off & (h.clusterSize() - 1)) != 0 || off > fileSize
        || l1Size * 8 > fileSize - off)) {
      throw new CorruptImageException("bad qcow2: " + file + " L1 table at 0x" + Long.toHexString(off) + " ("
          + l1Size + " entries) is unaligned or beyond end of file (size " + fileSize + ")");
    }
    ByteBuffer buf = ByteBuffer.allocate((int) (l1Size * 8));
    Qcow2Io.readFully(ch, off, buf, file, "L1 table");
    buf.flip().order(ByteOrder.BIG_ENDIAN);
    long[] l1 = new long[(int) l1Size];
    for (int i = 0; i < l1.length; i++) {
      l1[i] = buf.getLong();
    }
    return l1;
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

  Kind kind(long e) {
    if ((e & OFLAG_COMPRESSED) != 0) {
      return Kind.COMPRESSED;
    }
    long off = e & OFFSET_MASK;
    if ((e & OFLAG_ZERO) != 0) {
      return off == 0 ? Kind.ZERO_PLAIN : Kind.ZERO_ALLOC;
    }
    return off == 0 ? Kind.UNALLOCATED : Kind.NORMAL;
  }

  private long hostOffset(long e, long cluster) throws CorruptImageException {
    long off = e & OFFSET_MASK;
    if ((off & (clusterSize - 1)) != 0) {
      throw new CorruptImageException("bad qcow2: " + file + " data cluster for guest offset "
          + (cluster << clusterBits) + " at host 0x" + Long.toHexString(off) + " is not cluster-aligned");
    }
    return off;
  }

  /** Returns the L2 table for {@code l1Index}, or null when unallocated. Caller holds meta. */
  private L2Table l2(int l1Index) throws IOException {
    L2Table t = l2Cache.get(l1Index);
    if (t != null) {
      return t;
    }
    long e = l1[l1Index];
    long off = e & OFFSET_MASK;
    if (off == 0) {
      return null;
    }
    long fileSize = channel.size();
    if ((off & (clusterSize - 1)) != 0 || off > fileSize - clusterSize) {
      throw new CorruptImageException("bad qcow2: " + file + " L2 table " + l1Index + " at 0x" + Long.toHexString(off)
          + " is unaligned or beyond end of file (size " + fileSize + ")");
    }
    ByteBuffer buf = ByteBuffer.allocate(clusterSize);
    Qcow2Io.readFully(channel, off, buf, file, "L2 table " + l1Index);
    buf.flip().order(ByteOrder.BIG_ENDIAN);
    long[] entries = new long[l2Entries];
    buf.asLongBuffer().get(entries);
    t = new L2Table(off, entries);
    cache(l1Index, t);
    return t;
  }

  private void cache(int l1Index, L2Table t) throws IOException {
    l2Cache.put(l1Index, t);
    if (l2Cache.size() > l2CacheCapacity) {
      evictClean();
      if (l2Cache.size() > l2CacheCapacity && !readOnly) {
        // Dirty tables may be written only after the refcounts that cover them: flush in order.
        flushLocked();
        evictClean();
      }
    }
  }

  private void evictClean() {
    Iterator<Map.Entry<Integer, L2Table>> it = l2Cache.entrySet().iterator();
    while (it.hasNext() && l2Cache.size() > l2CacheCapacity / 2) {
      if (!it.next().getValue().dirty) {
        it.remove();
      }
    }
  }

  /** Returns the L2 table for {@code l1Index}, allocating an empty one if needed. Caller holds meta. */
  private L2Table l2ForWrite(int l1Index) throws IOException {
    L2Table t = l2(l1Index);
    if (t == null) {
      long off = refcounts.allocate(1);
      t = new L2Table(off, new long[l2Entries]);
      t.dirty = true;
      l1[l1Index] = off | OFLAG_COPIED;
      l1Dirty = true;
      cache(l1Index, t);
    }
    return t;
  }

  /** Copies the L2 entries of {@code count} clusters from {@code cluster} (all in one L2 table). */
  private long[] lookup(long cluster, int count) throws IOException {
    long[] out = new long[count];
    meta.lock();
    try {
      checkOpen();
      L2Table t = l2((int) (cluster >>> l2Bits));
      if (t != null) {
        System.arraycopy(t.entries, (int) (cluster & (l2Entries - 1)), out, 0, count);
      }
    } finally {
      meta.unlock();
    }
    return out;
  }

  private int clustersInTable(long cluster, long clustersWanted) {
    return (int) Math.min(clustersWanted, l2Entries - (cluster & (l2Entries - 1)));
  }

  // ---- reads ----

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      long cluster = pos >>> clusterBits;
      long last = (pos + dst.remaining() - 1) >>> clusterBits;
      int count = clustersInTable(cluster, last - cluster + 1);
      long[] entries = lookup(cluster, count);
      int i = 0;
      while (i < count) {
        Kind k = kind(entries[i]);
        int j = i + 1;
        while (j < count && sameRun(k, entries[j - 1], entries[j])) {
          j++;
        }
        long runEnd = Math.min((cluster + j) << clusterBits, pos + dst.remaining());
        int n = (int) (runEnd - pos);
        ByteBuffer part = dst.slice(dst.position(), n);
        switch (k) {
          case NORMAL -> Qcow2Io.readOrZero(channel, hostOffset(entries[i], cluster + i) + (pos & (clusterSize - 1)),
              part);
          case UNALLOCATED -> readBacking(pos, part);
          case ZERO_PLAIN, ZERO_ALLOC -> fillZeros(part);
          case COMPRESSED -> {
            byte[] c = decompress(entries[i], cluster + i);
            part.put(c, (int) (pos & (clusterSize - 1)), n);
          }
        }
        dst.position(dst.position() + n);
        pos += n;
        i = j;
      }
    }
  }

  private boolean sameRun(Kind k, long prev, long next) {
    Kind nk = kind(next);
    return switch (k) {
      case NORMAL -> nk == Kind.NORMAL && (next & OFFSET_MASK) == (prev & OFFSET_MASK) + clusterSize;
      case UNALLOCATED -> nk == Kind.UNALLOCATED;
      case ZERO_PLAIN, ZERO_ALLOC -> nk == Kind.ZERO_PLAIN || nk == Kind.ZERO_ALLOC;
      case COMPRESSED -> false;
    };
  }

  private static void fillZeros(ByteBuffer b) {
    while (b.hasRemaining()) {
      b.put((byte) 0);
    }
  }

  private void readBacking(long pos, ByteBuffer dst) throws IOException {
    if (backing != null && pos < backing.size()) {
      int n = (int) Math.min(dst.remaining(), backing.size() - pos);
      backing.read(pos, dst.slice(dst.position(), n));
      dst.position(dst.position() + n);
    }
    fillZeros(dst);
  }

  /** Returns the compressed cluster's host byte offset and the length it may occupy. */
  private long compressedOffset(long e) {
    return e & compressedOffsetMask;
  }

  private int compressedSectors(long e) {
    return (int) ((e >>> csizeShift) & csizeMask) + 1;
  }

  private byte[] decompress(long e, long cluster) throws IOException {
    long off = compressedOffset(e);
    int length = compressedSectors(e) * 512 - (int) (off & 511);
    ByteBuffer src = ByteBuffer.allocate(length);
    Qcow2Io.readOrZero(channel, off, src);
    byte[] out = new byte[clusterSize];
    Qcow2Codec.decompress(header.compressionType(), src.array(), length, out, file, cluster << clusterBits);
    return out;
  }

  /** Returns the current content of guest cluster {@code cluster} whose entry is {@code e}. */
  private byte[] clusterContent(long e, long cluster) throws IOException {
    return switch (kind(e)) {
      case COMPRESSED -> decompress(e, cluster);
      case ZERO_PLAIN, ZERO_ALLOC -> new byte[clusterSize];
      case NORMAL -> {
        ByteBuffer b = ByteBuffer.allocate(clusterSize);
        Qcow2Io.readOrZero(channel, hostOffset(e, cluster), b);
        yield b.array();
      }
      case UNALLOCATED -> {
        ByteBuffer b = ByteBuffer.allocate(clusterSize);
        readBacking(cluster << clusterBits, b);
        yield b.array();
      }
    };
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
      int count = clustersInTable(cluster, last - cluster + 1);
      long[] entries = lookup(cluster, count);
      int i = 0;
      while (i < count && src.hasRemaining()) {
        long e = entries[i];
        int inCluster = (int) (pos & (clusterSize - 1));
        int n = Math.min(src.remaining(), clusterSize - inCluster);
        if (inPlace(e)) {
          int j = i + 1;
          long total = n;
          while (j < count && total < src.remaining() && inPlace(entries[j])
              && (entries[j] & OFFSET_MASK) == (entries[j - 1] & OFFSET_MASK) + clusterSize) {
            total += Math.min(clusterSize, src.remaining() - total);
            j++;
          }
          Qcow2Io.writeFully(channel, hostOffset(e, cluster + i) + inCluster, src.slice(src.position(), (int) total));
          src.position(src.position() + (int) total);
          pos += total;
          i = j;
        } else if (n == clusterSize) {
          int j = i + 1;
          while (j < count && src.remaining() >= (long) (j - i + 1) * clusterSize && !inPlace(entries[j])) {
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
          byte[] data = clusterContent(e, cluster + i);
          src.get(src.position(), data, inCluster, n);
          if (kind(e) == Kind.ZERO_ALLOC && (e & OFLAG_COPIED) != 0) {
            long host = hostOffset(e, cluster + i);
            Qcow2Io.writeFully(channel, host, ByteBuffer.wrap(data));
            setEntry(cluster + i, host | OFLAG_COPIED);
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

  private boolean inPlace(long e) {
    return kind(e) == Kind.NORMAL && (e & OFLAG_COPIED) != 0;
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
        setEntry(firstCluster + m, (host + ((long) m << clusterBits)) | OFLAG_COPIED);
      }
    } finally {
      meta.unlock();
    }
  }

  private void writeCompressed(long cluster, byte[] data) throws IOException {
    byte[] c = Qcow2Codec.compress(header.compressionType(), data);
    if (c == null) {
      writeNewClusters(cluster, 1, ByteBuffer.wrap(data));
      return;
    }
    long off;
    meta.lock();
    try {
      checkOpen();
      off = allocateCompressed(c.length);
    } finally {
      meta.unlock();
    }
    Qcow2Io.writeFully(channel, off, ByteBuffer.wrap(c));
    long sectors = ((off + c.length - 1) >>> 9) - (off >>> 9);
    meta.lock();
    try {
      setEntry(cluster, off | (sectors << csizeShift) | OFLAG_COMPRESSED);
    } finally {
      meta.unlock();
    }
  }

  /** Finds room for {@code length} compressed bytes, packing them after the previous ones. Caller holds meta. */
  private long allocateCompressed(int length) throws IOException {
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

  /** Points guest {@code cluster} at {@code value}, releasing what the old entry held. Caller holds meta. */
  private void setEntry(long cluster, long value) throws IOException {
    checkOpen();
    L2Table t = l2ForWrite((int) (cluster >>> l2Bits));
    int idx = (int) (cluster & (l2Entries - 1));
    long old = t.entries[idx];
    t.entries[idx] = value;
    t.dirty = true;
    release(old, value);
  }

  private void release(long old, long replacement) {
    switch (kind(old)) {
      case NORMAL, ZERO_ALLOC -> {
        Kind nk = kind(replacement);
        boolean kept = (nk == Kind.NORMAL || nk == Kind.ZERO_ALLOC)
            && (replacement & OFFSET_MASK) == (old & OFFSET_MASK);
        if (!kept) {
          refcounts.release(old & OFFSET_MASK);
        }
      }
      case COMPRESSED -> {
        long start = compressedOffset(old) & ~511L;
        long end = start + (long) compressedSectors(old) * 512;
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
    Kind k = kind(e);
    if (k == Kind.ZERO_PLAIN || k == Kind.ZERO_ALLOC || k == Kind.UNALLOCATED && backingReadsZeros(cluster)) {
      return; // already reads as zeros
    }
    write(offset, ByteBuffer.allocate((int) length));
  }

  /** Returns whether guest cluster {@code c} reads zeros when unallocated here (no backing data behind it). */
  private boolean backingReadsZeros(long c) throws IOException {
    long start = c << clusterBits;
    if (backing == null || start >= backing.size()) {
      return true;
    }
    for (Extent e : backing.allocation(start, Math.min(clusterSize, backing.size() - start))) {
      if (!e.kind().readsAsZeros()) {
        return false;
      }
    }
    return true;
  }

  private boolean backingCovers(long guestOffset) {
    return backing != null && guestOffset < backing.size();
  }

  private void zeroClusters(long first, long count, boolean unmap) throws IOException {
    boolean v3 = header.version() >= 3;
    long done = 0;
    while (done < count) {
      long cluster = first + done;
      int n = clustersInTable(cluster, count - done);
      long held = lockRange(cluster << clusterBits, (long) n << clusterBits);
      List<Long> physical = new ArrayList<>();
      try {
        meta.lock();
        try {
          checkOpen();
          L2Table t = l2((int) (cluster >>> l2Bits));
          for (int i = 0; i < n; i++) {
            long c = cluster + i;
            long e = t == null ? 0 : t.entries[(int) (c & (l2Entries - 1))];
            Kind k = kind(e);
            boolean underBacking = !backingReadsZeros(c);
            long target;
            if (v3) {
              if (unmap || k == Kind.COMPRESSED || k == Kind.UNALLOCATED || k == Kind.ZERO_PLAIN) {
                target = underBacking ? OFLAG_ZERO : 0;
              } else {
                target = (e & (OFFSET_MASK | OFLAG_COPIED)) | OFLAG_ZERO; // keep the allocation
              }
            } else if (!underBacking && (unmap || !inPlace(e))) {
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

  // ---- allocation ----

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    List<Extent> out = new ArrayList<>();
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long cluster = pos >>> clusterBits;
      long last = (end - 1) >>> clusterBits;
      int count = clustersInTable(cluster, last - cluster + 1);
      long[] entries = lookup(cluster, count);
      int i = 0;
      while (i < count) {
        Kind k = kind(entries[i]);
        int j = i + 1;
        while (j < count && group(kind(entries[j])) == group(k)) {
          j++;
        }
        long runEnd = Math.min((cluster + j) << clusterBits, end);
        switch (group(k)) {
          case DATA -> add(out, new Extent(pos, runEnd - pos, Extent.Kind.DATA));
          case ZERO -> add(out, new Extent(pos, runEnd - pos, Extent.Kind.ZERO));
          case HOLE -> {
            long bEnd = backing == null ? pos : Math.min(runEnd, backing.size());
            if (bEnd > pos) {
              for (Extent e : backing.allocation(pos, bEnd - pos)) {
                add(out, e);
              }
            }
            if (runEnd > Math.max(pos, bEnd)) {
              add(out, new Extent(Math.max(pos, bEnd), runEnd - Math.max(pos, bEnd), Extent.Kind.HOLE));
            }
          }
        }
        pos = runEnd;
        i = j;
      }
    }
    return out;
  }

  private static Extent.Kind group(Kind k) {
    return switch (k) {
      case NORMAL, COMPRESSED -> Extent.Kind.DATA;
      case ZERO_PLAIN, ZERO_ALLOC -> Extent.Kind.ZERO;
      case UNALLOCATED -> Extent.Kind.HOLE;
    };
  }

  private static void add(List<Extent> out, Extent e) {
    if (!out.isEmpty()) {
      Extent last = out.getLast();
      if (last.kind() == e.kind() && last.end() == e.offset()) {
        out.set(out.size() - 1, new Extent(last.offset(), last.length() + e.length(), e.kind()));
        return;
      }
    }
    out.add(e);
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
    boolean wroteL2 = false;
    for (L2Table t : l2Cache.values()) {
      if (t.dirty) {
        ByteBuffer buf = ByteBuffer.allocate(clusterSize).order(ByteOrder.BIG_ENDIAN);
        buf.asLongBuffer().put(t.entries);
        Qcow2Io.writeFully(channel, t.offset, buf);
        t.dirty = false;
        wroteL2 = true;
      }
    }
    if (wroteL2) {
      sync();
    }
    if (l1Dirty) {
      ByteBuffer buf = ByteBuffer.allocate(l1.length * 8).order(ByteOrder.BIG_ENDIAN);
      buf.asLongBuffer().put(l1);
      Qcow2Io.writeFully(channel, header.l1TableOffset(), buf);
      l1Dirty = false;
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
