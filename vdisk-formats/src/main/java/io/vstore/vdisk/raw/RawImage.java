package io.vstore.vdisk.raw;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageInfo;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A raw image: the file is the disk. Positional {@link FileChannel} I/O (thread-safe without
 * locks); holes found with {@code SEEK_DATA/SEEK_HOLE} and made with {@code PUNCH_HOLE} where the
 * platform allows, else the whole file reports as data and zeroing writes zeros.
 */
final class RawImage implements DiskImage {
  private static final int ZERO_CHUNK = 1 << 20;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

  private final Path path;
  private final FileChannel channel;
  private final SparseFile sparse; // null where hole queries are unavailable
  private final boolean readOnly;
  private final long size;
  private volatile boolean closed;

  private RawImage(Path path, FileChannel channel, SparseFile sparse, boolean readOnly, long size) {
    this.path = path;
    this.channel = channel;
    this.sparse = sparse;
    this.readOnly = readOnly;
    this.size = size;
  }

  /** Opens an existing raw file. */
  static RawImage open(Path path, boolean readOnly) throws IOException {
    FileChannel ch = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
        : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      return new RawImage(path, ch, SparseFile.open(path, !readOnly), readOnly, ch.size());
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** Creates (or truncates) {@code path} as a sparse file of {@code size} bytes and opens it. */
  static RawImage create(Path path, long size) throws IOException {
    // setLength is ftruncate: the file grows as one hole, nothing is allocated.
    try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
      f.setLength(0);
      f.setLength(size);
    }
    return open(path, false);
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
    return Optional.empty();
  }

  @Override
  public ImageInfo info() throws IOException {
    checkOpen();
    long allocated = 0;
    for (Extent e : allocation(0, size)) {
      if (e.kind() == Extent.Kind.DATA) {
        allocated += e.length();
      }
    }
    return new ImageInfo(path.toString(), RawFormat.NAME, null, size, allocated, 0, null,
        List.of(path.toString()), Map.of("sparse_queries", sparse != null));
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, pos);
      if (n < 0) {
        // The file shrank under us: what is gone reads as zeros rather than failing mid-buffer.
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
        return;
      }
      pos += n;
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    checkWritable();
    OutOfRangeException.check(this, offset, src.remaining());
    long pos = offset;
    while (src.hasRemaining()) {
      pos += channel.write(src, pos);
    }
  }

  @Override
  public void flush() throws IOException {
    checkOpen();
    if (!readOnly) {
      channel.force(false);
    }
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    checkWritable();
    OutOfRangeException.check(this, offset, length);
    if (mayUnmap && sparse != null && sparse.punchHole(offset, length)) {
      return;
    }
    writeZeroBytes(offset, length);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    writeZeroes(offset, length, true);
  }

  private void writeZeroBytes(long offset, long length) throws IOException {
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      ByteBuffer z = ZEROS.duplicate().limit((int) Math.min(ZERO_CHUNK, end - pos));
      while (z.hasRemaining()) {
        pos += channel.write(z, pos);
      }
    }
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    List<Extent> out = new ArrayList<>();
    if (length == 0) {
      return out;
    }
    long end = offset + length;
    if (sparse == null) {
      out.add(new Extent(offset, length, Extent.Kind.DATA));
      return out;
    }
    long pos = offset;
    while (pos < end) {
      long data = sparse.nextData(pos);
      if (data < 0 || data >= end) {
        out.add(new Extent(pos, end - pos, Extent.Kind.HOLE));
        break;
      }
      if (data > pos) {
        out.add(new Extent(pos, data - pos, Extent.Kind.HOLE));
      }
      long hole = sparse.nextHole(data);
      long dataEnd = hole < 0 ? end : Math.min(hole, end);
      out.add(new Extent(data, dataEnd - data, Extent.Kind.DATA));
      pos = dataEnd;
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try (channel; SparseFile s = sparse) {
      if (!readOnly) {
        channel.force(false);
      }
    }
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
    return "raw image " + path;
  }
}
