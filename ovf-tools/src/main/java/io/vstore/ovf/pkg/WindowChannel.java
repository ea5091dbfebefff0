package io.vstore.ovf.pkg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Objects;

/**
 * A read-only view of bytes {@code [start, start + length)} of a file as a {@link FileChannel} of
 * its own, so that a disk stored plainly inside an OVA can be opened by the vdisk-formats readers
 * without extracting it. Positional reads are safe from many threads (the base channel's are);
 * closing the view does not close the base channel, which the package owns.
 */
final class WindowChannel extends FileChannel {
  private final FileChannel base;
  private final long start;
  private final long length;
  private final String name;
  private long position;

  WindowChannel(FileChannel base, long start, long length, String name) {
    this.base = Objects.requireNonNull(base, "base");
    if (start < 0 || length < 0) {
      throw new IllegalArgumentException("window at " + start + " of " + length + " bytes");
    }
    this.start = start;
    this.length = length;
    this.name = name;
  }

  @Override
  public int read(ByteBuffer dst, long pos) throws IOException {
    if (pos < 0) {
      throw new IllegalArgumentException("negative position " + pos);
    }
    if (!isOpen()) {
      throw new java.nio.channels.ClosedChannelException();
    }
    if (pos >= length) {
      return -1;
    }
    int want = (int) Math.min(dst.remaining(), length - pos);
    if (want == 0) {
      return 0;
    }
    ByteBuffer d = dst.slice(dst.position(), want);
    int n = base.read(d, start + pos);
    if (n > 0) {
      dst.position(dst.position() + n);
    }
    return n;
  }

  @Override
  public synchronized int read(ByteBuffer dst) throws IOException {
    int n = read(dst, position);
    if (n > 0) {
      position += n;
    }
    return n;
  }

  @Override
  public synchronized long read(ByteBuffer[] dsts, int offset, int count) throws IOException {
    long total = 0;
    for (int i = offset; i < offset + count; i++) {
      int n = read(dsts[i]);
      if (n < 0) {
        return total == 0 ? -1 : total;
      }
      total += n;
      if (dsts[i].hasRemaining()) {
        break;
      }
    }
    return total;
  }

  @Override
  public int write(ByteBuffer src) {
    throw new NonWritableChannelException();
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int count) {
    throw new NonWritableChannelException();
  }

  @Override
  public int write(ByteBuffer src, long pos) {
    throw new NonWritableChannelException();
  }

  @Override
  public synchronized long position() {
    return position;
  }

  @Override
  public synchronized FileChannel position(long newPosition) {
    if (newPosition < 0) {
      throw new IllegalArgumentException("negative position " + newPosition);
    }
    position = newPosition;
    return this;
  }

  @Override
  public long size() {
    return length;
  }

  @Override
  public FileChannel truncate(long size) {
    throw new NonWritableChannelException();
  }

  @Override
  public void force(boolean metaData) {
    // Read-only: nothing to make durable.
  }

  @Override
  public long transferTo(long pos, long count, WritableByteChannel target) throws IOException {
    if (pos >= length) {
      return 0;
    }
    return base.transferTo(start + pos, Math.min(count, length - pos), target);
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long pos, long count) {
    throw new NonWritableChannelException();
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long pos, long size) {
    throw new UnsupportedOperationException(name + ": members of a package are not mapped");
  }

  @Override
  public FileLock lock(long pos, long size, boolean shared) {
    throw new UnsupportedOperationException(name + ": members of a package are not locked");
  }

  @Override
  public FileLock tryLock(long pos, long size, boolean shared) {
    throw new UnsupportedOperationException(name + ": members of a package are not locked");
  }

  @Override
  protected void implCloseChannel() {
    // The base channel belongs to the package.
  }

  @Override
  public String toString() {
    return name;
  }
}
