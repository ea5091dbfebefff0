package io.vstore.vdisk;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.LongPredicate;

/**
 * What every file-backed image does the same way, so that each format keeps only its own layout:
 * the open and writable checks and range checks before each request, the sync policy of
 * {@code flush}, and a close that flushes, closes the files and then the backing image, each step
 * run even when an earlier one failed. Formats implement the {@code ...Range} methods, which are
 * called only with checked arguments on an open image (and, for changes, a writable one).
 */
public abstract class FileImage implements DiskImage {
  private static final byte[] ZEROS = new byte[64 * 1024];

  private final String kind;
  private final Path path;
  private final long size;
  private final boolean readOnly;
  private final DiskImage parent;
  private volatile boolean closed;
  private volatile boolean syncOnFlush = true;

  /**
   * Creates the common state of an image.
   *
   * @param kind the format name that {@link #toString()} shows before the path
   * @param parent the backing image this image owns and closes, or null
   */
  protected FileImage(String kind, Path path, long size, boolean readOnly, DiskImage parent) {
    this.kind = kind;
    this.path = path;
    this.size = size;
    this.readOnly = readOnly;
    this.parent = parent;
  }

  @Override
  public final Path path() {
    return path;
  }

  @Override
  public final long size() {
    return size;
  }

  @Override
  public final boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public final Optional<DiskImage> backing() {
    return Optional.ofNullable(parent);
  }

  /** Returns the backing image, or null when this image has none. */
  protected final DiskImage parent() {
    return parent;
  }

  @Override
  public String toString() {
    return kind + " " + path;
  }

  /** Throws if the image has been closed. */
  protected final void ensureOpen() {
    if (closed) {
      throw new AlreadyClosedException(this);
    }
  }

  private void ensureWritable() throws ReadOnlyDeviceException {
    ensureOpen();
    if (readOnly) {
      throw new ReadOnlyDeviceException(this);
    }
  }

  @Override
  public final ImageInfo info() throws IOException {
    ensureOpen();
    return describe();
  }

  @Override
  public final void read(long offset, ByteBuffer dst) throws IOException {
    ensureOpen();
    OutOfRangeException.check(this, offset, dst.remaining());
    readRange(offset, dst);
  }

  @Override
  public final void write(long offset, ByteBuffer src) throws IOException {
    ensureWritable();
    OutOfRangeException.check(this, offset, src.remaining());
    writeRange(offset, src);
  }

  @Override
  public final void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    ensureWritable();
    OutOfRangeException.check(this, offset, length);
    zeroRange(offset, length, mayUnmap);
  }

  /** Zeroes the range, unmapping what the format can unmap (every format here treats discard so). */
  @Override
  public final void discard(long offset, long length) throws IOException {
    writeZeroes(offset, length, true);
  }

  @Override
  public final List<Extent> allocation(long offset, long length) throws IOException {
    ensureOpen();
    OutOfRangeException.check(this, offset, length);
    return allocationRange(offset, length);
  }

  @Override
  public final void flush() throws IOException {
    ensureOpen();
    if (!readOnly) {
      flushFiles();
    }
  }

  @Override
  public final void close() throws IOException {
    if (closed) {
      return;
    }
    CloseSteps steps = new CloseSteps();
    if (!readOnly) {
      steps.run(this::flush);
    }
    closed = true;
    steps.run(this::closeFiles);
    if (parent != null) {
      steps.run(parent::close);
    }
    steps.finish();
  }

  /**
   * Makes {@link #flush()} write metadata without syncing, like qemu-img's {@code -t unsafe}: for
   * conversions whose output is discarded when they fail. A killed process still leaves a valid
   * file (the page cache keeps every write); a power loss may not.
   */
  public final void skipSyncOnFlush() {
    syncOnFlush = false;
  }

  /** Forces {@code channel}'s data to the disk unless {@link #skipSyncOnFlush()} was called. */
  protected final void sync(FileChannel channel) throws IOException {
    if (syncOnFlush) {
      channel.force(false);
    }
  }

  /**
   * Writes zeros over {@code [offset, offset + length)} through {@link #writeRange}, 64 KiB at a time:
   * for ranges the format cannot unmap.
   */
  protected final void writeZerosThrough(long offset, long length) throws IOException {
    for (long done = 0; done < length; ) {
      int n = (int) Math.min(ZEROS.length, length - done);
      writeRange(offset + done, ByteBuffer.wrap(ZEROS, 0, n));
      done += n;
    }
  }

  /**
   * Adds {@code [offset, offset + length)}, which this image does not hold, to {@code out} as the
   * backing image describes it, or as a hole when there is none.
   */
  protected final void addUnallocated(ExtentList out, long offset, long length) throws IOException {
    if (parent != null) {
      out.addAll(parent.allocation(offset, length));
    } else {
      out.add(offset, length, Extent.Kind.HOLE);
    }
  }

  /**
   * Adds bytes {@code [from, to)} of the block at guest offset {@code blockStart} to {@code out} run
   * by run of sectors: those {@code present} says this image holds as DATA, the others as the
   * backing image describes them (for differencing blocks with a per-sector bitmap).
   */
  protected final void addSectorRuns(ExtentList out, long blockStart, long from, long to, long sectorSize,
      LongPredicate present) throws IOException {
    SectorRuns.each(from, to, sectorSize, present, (a, b, here) -> {
      if (here) {
        out.add(blockStart + a, b - a, Extent.Kind.DATA);
      } else {
        out.addAll(parent.allocation(blockStart + a, b - a));
      }
    });
  }

  /** Returns the image's description for {@link #info()}. */
  protected abstract ImageInfo describe() throws IOException;

  /** Reads {@code dst.remaining()} bytes at {@code offset}, a range inside the image. */
  protected abstract void readRange(long offset, ByteBuffer dst) throws IOException;

  /** Writes {@code src} at {@code offset}, a range inside the image. */
  protected abstract void writeRange(long offset, ByteBuffer src) throws IOException;

  /** Makes a range inside the image read as zeros, unmapping it where allowed and possible. */
  protected abstract void zeroRange(long offset, long length, boolean mayUnmap) throws IOException;

  /** Describes the allocation of a range inside the image. */
  protected abstract List<Extent> allocationRange(long offset, long length) throws IOException;

  /** Makes every completed write durable, metadata after the data it points at. */
  protected abstract void flushFiles() throws IOException;

  /** Closes the image's own files (the backing image is closed after this). */
  protected abstract void closeFiles() throws IOException;

  /** One piece of a request that lies inside one block. */
  @FunctionalInterface
  protected interface BlockPiece {
    /**
     * Handles {@code part}, the bytes of the request at {@code inBlock} inside block {@code block},
     * which are at {@code guestOffset} of the image.
     */
    void apply(long block, long inBlock, long guestOffset, ByteBuffer part) throws IOException;
  }

  /** One span of a request that lies inside one block. */
  @FunctionalInterface
  protected interface BlockSpan {
    /** Handles {@code length} bytes at {@code inBlock} inside {@code block}, at {@code guestOffset}. */
    void apply(long block, long inBlock, long guestOffset, long length) throws IOException;
  }

  /** Splits the bytes of {@code buf} at {@code offset} at block boundaries, consuming {@code buf}. */
  protected static void eachBlock(long offset, ByteBuffer buf, long blockSize, BlockPiece piece) throws IOException {
    long pos = offset;
    while (buf.hasRemaining()) {
      long inBlock = pos % blockSize;
      int n = (int) Math.min(buf.remaining(), blockSize - inBlock);
      piece.apply(pos / blockSize, inBlock, pos, buf.slice(buf.position(), n));
      buf.position(buf.position() + n);
      pos += n;
    }
  }

  /** Splits {@code [offset, offset + length)} at block boundaries. */
  protected static void eachBlock(long offset, long length, long blockSize, BlockSpan span) throws IOException {
    long end = offset + length;
    for (long pos = offset; pos < end; ) {
      long inBlock = pos % blockSize;
      long n = Math.min(end - pos, blockSize - inBlock);
      span.apply(pos / blockSize, inBlock, pos, n);
      pos += n;
    }
  }
}
