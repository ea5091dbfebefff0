package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.store.ChannelOpener;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageInfo;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
  private final boolean readOnly;
  private final int clusterSize;
  private final int l2Entries;
  private final long size;
  private final DiskImage backing;
  private final String backingName;
  private final String backingFormat;
  private final Qcow2Tables tables;
  private final ReentrantLock meta;
  private final Qcow2Reader reader;
  private final Qcow2Writer writer;
  private final Qcow2Zeroing zeroing;
  private volatile boolean closed;

  private Qcow2Image(Path path, FileChannel channel, boolean readOnly, Qcow2Header header, Qcow2Entries layout,
      long[] l1, DiskImage backing, Qcow2Extensions ext, boolean compressWrites, boolean syncs, long fileSize,
      Qcow2DataFile data) throws IOException {
    this.path = path;
    this.file = path.toString();
    this.channel = channel;
    this.data = data;
    this.readOnly = readOnly;
    this.clusterSize = header.clusterSize();
    this.l2Entries = layout.l2Entries;
    this.size = header.size();
    this.backing = backing;
    this.backingName = ext.backingName();
    this.backingFormat = ext.backingFormat();
    this.tables = new Qcow2Tables(file, channel, header, layout, l1, readOnly, syncs, fileSize, data);
    this.meta = tables.meta;
    this.reader = new Qcow2Reader(file, channel, data.channel(), header, layout, backing, tables.mappedLookup(this::checkOpen));
    Qcow2CompressedWriter compressed = readOnly ? null
        : new Qcow2CompressedWriter(meta, channel, tables.refcounts(), layout, header);
    this.writer = new Qcow2Writer(header, layout, data, tables, reader, compressed,
        compressWrites && !data.external(), this::checkOpen); // a data file cannot hold compressed clusters
    this.zeroing = new Qcow2Zeroing(header, layout, data, tables, reader, writer, this::checkOpen);
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
    writer.write(offset, src);
  }

  // ---- zeroes ----

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    checkWritable();
    OutOfRangeException.check(this, offset, length);
    if (length == 0) {
      return;
    }
    zeroing.writeZeroes(offset, length, mayUnmap);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    writeZeroes(offset, length, true);
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
    return l2Entries;
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
