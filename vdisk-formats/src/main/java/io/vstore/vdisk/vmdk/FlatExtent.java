package io.vstore.vdisk.vmdk;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** A FLAT or VMFS extent: the bytes lie as they are in a file, from a start offset. */
final class FlatExtent implements ExtentData {
  private static final int ZERO_CHUNK = 1 << 20;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

  private final Path file;
  private final FileChannel channel;
  private final long start;
  private final long size;
  private final boolean writable;

  FlatExtent(Path file, FileChannel channel, long start, long size, boolean writable) {
    this.file = file;
    this.channel = channel;
    this.start = start;
    this.size = size;
    this.writable = writable;
  }

  private void checkWritable() throws ReadOnlyDeviceException {
    if (!writable) {
      throw new ReadOnlyDeviceException(file + " is opened read-only (RDONLY extent or read-only image)");
    }
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public Path file() {
    return file;
  }

  @Override
  public Run run(long offset, long max) {
    return new Run(Extent.Kind.DATA, max);
  }

  @Override
  public void readData(long offset, ByteBuffer dst) throws IOException {
    // A flat file shorter than its extent line (sparse copy truncated) reads zeros past its end.
    ChannelIo.readPadded(channel, start + offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src, Underlay under) throws IOException {
    checkWritable();
    ChannelIo.writeFully(channel, start + offset, src);
  }

  @Override
  public void zero(long offset, long length, boolean hasParent, Underlay under) throws IOException {
    checkWritable();
    long done = 0;
    while (done < length) {
      int n = (int) Math.min(ZERO_CHUNK, length - done);
      ChannelIo.writeFully(channel, start + offset + done, ZEROS.duplicate().limit(n));
      done += n;
    }
  }

  @Override
  public void flush() throws IOException {
    if (writable) {
      channel.force(true);
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  @Override
  public String toString() {
    return file.toString();
  }
}
