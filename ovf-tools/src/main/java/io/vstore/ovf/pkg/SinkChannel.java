package io.vstore.ovf.pkg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A write-once {@link FileChannel} whose bytes flow into a {@link ByteSink}: what vdisk-formats'
 * streamOptimized writer writes to when its output is a package member. That writer writes its
 * header and then appends, never going back, so a write at any position but the current end is
 * a bug and is refused.
 */
final class SinkChannel extends FileChannel {
  private final ByteSink sink;
  private final String name;
  private long written;

  SinkChannel(ByteSink sink, String name) {
    this.sink = sink;
    this.name = name;
  }

  @Override
  public synchronized int write(ByteBuffer src, long position) throws IOException {
    if (position != written) {
      throw new IOException(name + ": a package member is written in order; write at " + position + " after " + written
          + " bytes");
    }
    return write(src);
  }

  @Override
  public synchronized int write(ByteBuffer src) throws IOException {
    int n = src.remaining();
    sink.write(src);
    written += n;
    return n;
  }

  @Override
  public synchronized long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    long n = 0;
    for (int i = offset; i < offset + length; i++) {
      n += write(srcs[i]);
    }
    return n;
  }

  @Override
  public int read(ByteBuffer dst) {
    throw new NonReadableChannelException();
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) {
    throw new NonReadableChannelException();
  }

  @Override
  public int read(ByteBuffer dst, long position) {
    throw new NonReadableChannelException();
  }

  @Override
  public synchronized long position() {
    return written;
  }

  @Override
  public FileChannel position(long newPosition) throws IOException {
    if (newPosition != position()) {
      throw new IOException(name + ": a package member is written in order");
    }
    return this;
  }

  @Override
  public synchronized long size() {
    return written;
  }

  @Override
  public FileChannel truncate(long size) throws IOException {
    throw new IOException(name + ": a package member cannot be truncated");
  }

  @Override
  public void force(boolean metaData) {
    // The package is made durable once, when it is committed.
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) {
    throw new NonReadableChannelException();
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
    throw new IOException(name + ": not supported");
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long position, long size) {
    throw new UnsupportedOperationException(name + ": a package member is not mapped");
  }

  @Override
  public FileLock lock(long position, long size, boolean shared) {
    throw new UnsupportedOperationException(name + ": a package member is not locked");
  }

  @Override
  public FileLock tryLock(long position, long size, boolean shared) {
    throw new UnsupportedOperationException(name + ": a package member is not locked");
  }

  @Override
  protected void implCloseChannel() {
    // The writer ends the sink itself, after the image is closed.
  }

  @Override
  public String toString() {
    return name;
  }
}
