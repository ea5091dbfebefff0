package io.vstore.vdisk.raw;

import io.vstore.blockstore.Extent;
import io.vstore.vdisk.FileImage;
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

/**
 * A raw image: the file is the disk. Positional {@link FileChannel} I/O (thread-safe without
 * locks); holes found with {@code SEEK_DATA/SEEK_HOLE} and made with {@code PUNCH_HOLE} where the
 * platform allows, else the whole file reports as data and zeroing writes zeros.
 */
final class RawImage extends FileImage {
  private static final int ZERO_CHUNK = 1 << 20;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

  private final FileChannel channel;
  private final SparseFile sparse; // null where hole queries are unavailable
  private final boolean syncs;

  private RawImage(Path path, FileChannel channel, SparseFile sparse, boolean readOnly, long size, boolean syncs) {
    super("raw image", path, size, readOnly, null);
    this.syncs = syncs;
    this.channel = channel;
    this.sparse = sparse;
  }

  /** Opens an existing raw file. */
  static RawImage open(Path path, boolean readOnly) throws IOException {
    return open(path, readOnly, true);
  }

  /** Opens an existing raw file; without {@code syncs}, flush does not wait for the disk (cache=unsafe). */
  static RawImage open(Path path, boolean readOnly, boolean syncs) throws IOException {
    FileChannel ch = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
        : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      return new RawImage(path, ch, SparseFile.open(path, !readOnly), readOnly, ch.size(), syncs);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** Creates (or truncates) {@code path} as a sparse file of {@code size} bytes and opens it. */
  static RawImage create(Path path, long size, boolean syncs) throws IOException {
    // setLength is ftruncate: the file grows as one hole, nothing is allocated.
    try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
      f.setLength(0);
      try {
        f.setLength(size);
      } catch (IOException e) {
        // EFBIG: ext4 caps a file at 16 TiB, so a raw image of a 64 TiB volume cannot exist there.
        throw new IOException("cannot create raw image " + path + " of " + size + " bytes: " + e.getMessage()
            + " (the file system's largest file is smaller; use a sparse format such as qcow2, or another file"
            + " system)", e);
      }
    }
    return open(path, false, syncs);
  }

  @Override
  protected ImageInfo describe() throws IOException {
    long allocated = 0;
    for (Extent e : allocation(0, size())) {
      if (e.kind() == Extent.Kind.DATA) {
        allocated += e.length();
      }
    }
    String file = path().toString();
    return new ImageInfo(file, RawFormat.NAME, null, size(), allocated, 0, null, List.of(file),
        Map.of("sparse_queries", sparse != null));
  }

  @Override
  protected void readRange(long offset, ByteBuffer dst) throws IOException {
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
  protected void writeRange(long offset, ByteBuffer src) throws IOException {
    long pos = offset;
    while (src.hasRemaining()) {
      pos += channel.write(src, pos);
    }
  }

  @Override
  protected void flushFiles() throws IOException {
    if (syncs) {
      channel.force(false);
    }
  }

  @Override
  protected void zeroRange(long offset, long length, boolean mayUnmap) throws IOException {
    if (mayUnmap && sparse != null && sparse.punchHole(offset, length)) {
      return;
    }
    writeZeroBytes(offset, length);
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
  protected List<Extent> allocationRange(long offset, long length) throws IOException {
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
  protected void closeFiles() throws IOException {
    // flush() ran before this, unless the image is read-only.
    try (channel; SparseFile s = sparse) {
      // Both are closed, the sparse helper too if the channel's close fails.
    }
  }
}
