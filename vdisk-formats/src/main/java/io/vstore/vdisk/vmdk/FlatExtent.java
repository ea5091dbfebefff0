package io.vstore.vdisk.vmdk;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * A FLAT or VMFS extent: the bytes lie as they are in a file, from a start offset. When the extent
 * is the whole file, a raw view of the file (from the format registry) finds the file's holes
 * without reading them, and punches holes for zeroing; a hole in a flat extent reads zeros and
 * never falls through to a parent, so it is reported as ZERO.
 */
final class FlatExtent extends FileExtent {
  private static final int ZERO_CHUNK = 1 << 20;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

  private final long start;
  private final boolean writable;
  private final DiskImage rawView; // null when the extent is not the whole file or raw is unavailable

  /** Wraps {@code channel}; the extent is {@code size} bytes from {@code start} of {@code file}. */
  FlatExtent(Path file, FileChannel channel, long start, long size, boolean writable) throws IOException {
    super(file, channel, size);
    this.start = start;
    this.writable = writable;
    this.rawView = start == 0 && channel.size() >= size ? openRawView(file, !writable) : null;
  }

  private static DiskImage openRawView(Path file, boolean readOnly) {
    try {
      return ImageFormats.byName("raw").open(file, readOnly, null);
    } catch (IOException | RuntimeException e) {
      return null; // without it the extent is all DATA and zeroing writes zeros: still correct
    }
  }

  private void checkWritable() throws ReadOnlyDeviceException {
    if (!writable) {
      throw new ReadOnlyDeviceException(file() + " is opened read-only (RDONLY extent or read-only image)");
    }
  }

  @Override
  public Run run(long offset, long max) throws IOException {
    if (rawView == null) {
      return new Run(Extent.Kind.DATA, max);
    }
    Extent first = rawView.allocation(offset, max).getFirst();
    return new Run(first.kind() == Extent.Kind.DATA ? Extent.Kind.DATA : Extent.Kind.ZERO, first.length());
  }

  @Override
  public void readData(long offset, ByteBuffer dst) throws IOException {
    // A flat file shorter than its extent line (sparse copy truncated) reads zeros past its end.
    ChannelIo.readPadded(channel(), start + offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src, Underlay under) throws IOException {
    checkWritable();
    FileContent.writeFully(channel(), start + offset, src);
  }

  @Override
  public void zero(long offset, long length, boolean hasParent, Underlay under) throws IOException {
    checkWritable();
    if (rawView != null) {
      rawView.writeZeroes(offset, length, true);
      return;
    }
    long done = 0;
    while (done < length) {
      int n = (int) Math.min(ZERO_CHUNK, length - done);
      FileContent.writeFully(channel(), start + offset + done, ZEROS.duplicate().limit(n));
      done += n;
    }
  }

  @Override
  public void flush() throws IOException {
    if (writable) {
      channel().force(true);
      if (rawView != null) {
        rawView.flush();
      }
    }
  }

  @Override
  public void close() throws IOException {
    try (FileChannel ch = channel()) {
      if (rawView != null) {
        rawView.close();
      }
    }
  }
}
