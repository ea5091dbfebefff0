package io.vstore.nbd;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.OutOfSpaceException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A sparse in-memory device for scratch exports ({@code vstore nbd serve memory:SIZE}, like
 * nbdkit's memory plugin): contents live on the heap in 64 KiB pages and vanish on close. Pages are
 * allocated on first write and dropped when fully zeroed; memory use is capped.
 */
public final class ScratchDevice implements BlockDevice {
  /** Allocation granularity: one heap page. */
  public static final int PAGE = 64 * 1024;

  private final String name;
  private final long size;
  private final long maxBytes;
  private final ConcurrentHashMap<Long, byte[]> pages = new ConcurrentHashMap<>();
  private final AtomicLong allocated = new AtomicLong();
  private volatile boolean closed;

  /**
   * Creates an empty device of {@code size} bytes that refuses to hold more than {@code maxBytes}
   * of data (writes beyond that fail with {@link OutOfSpaceException}).
   */
  public ScratchDevice(String name, long size, long maxBytes) {
    if (size < 0 || maxBytes < 0) {
      throw new IllegalArgumentException("bad scratch device: size " + size + " max bytes " + maxBytes);
    }
    this.name = name;
    this.size = size;
    this.maxBytes = maxBytes;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void read(long offset, ByteBuffer dst) {
    checkOpen();
    OutOfRangeException.check(this, offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      int within = (int) (pos % PAGE);
      int n = Math.min(dst.remaining(), PAGE - within);
      byte[] page = pages.get(pos / PAGE);
      if (page == null) {
        int end = dst.position() + n;
        while (dst.position() < end) {
          dst.put(Zeros.BYTES, 0, Math.min(Zeros.BYTES.length, end - dst.position()));
        }
      } else {
        synchronized (page) {
          dst.put(page, within, n);
        }
      }
      pos += n;
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) throws OutOfSpaceException {
    checkOpen();
    OutOfRangeException.check(this, offset, src.remaining());
    long pos = offset;
    while (src.hasRemaining()) {
      long index = pos / PAGE;
      int within = (int) (pos % PAGE);
      int n = Math.min(src.remaining(), PAGE - within);
      byte[] page = page(index);
      synchronized (page) {
        src.get(page, within, n);
      }
      pos += n;
    }
  }

  private byte[] page(long index) throws OutOfSpaceException {
    byte[] page = pages.get(index);
    if (page != null) {
      return page;
    }
    if (allocated.addAndGet(PAGE) > maxBytes) {
      allocated.addAndGet(-PAGE);
      throw new OutOfSpaceException(this + ": holds " + allocated.get() + " bytes, the most allowed is " + maxBytes);
    }
    byte[] fresh = new byte[PAGE];
    byte[] raced = pages.putIfAbsent(index, fresh);
    if (raced != null) {
      allocated.addAndGet(-PAGE);
      return raced;
    }
    return fresh;
  }

  @Override
  public void flush() {
    checkOpen();
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) {
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long index = pos / PAGE;
      int within = (int) (pos % PAGE);
      int n = (int) Math.min(end - pos, PAGE - within);
      if (n == PAGE) {
        if (pages.remove(index) != null) {
          allocated.addAndGet(-PAGE);
        }
      } else {
        byte[] page = pages.get(index);
        if (page != null) {
          synchronized (page) {
            Arrays.fill(page, within, within + n, (byte) 0);
          }
        }
      }
      pos += n;
    }
  }

  @Override
  public void discard(long offset, long length) {
    writeZeroes(offset, length, true);
  }

  @Override
  public List<Extent> allocation(long offset, long length) {
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    ExtentList out = new ExtentList();
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long index = pos / PAGE;
      long pageEnd = Math.min(end, (index + 1) * PAGE);
      out.add(pos, pageEnd - pos, pages.containsKey(index) ? Extent.Kind.DATA : Extent.Kind.HOLE);
      pos = pageEnd;
    }
    return out.toList();
  }

  /** Returns the bytes of memory holding data. */
  public long allocatedBytes() {
    return allocated.get();
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  @Override
  public void close() {
    closed = true;
    pages.clear();
    allocated.set(0);
  }

  @Override
  public String toString() {
    return "scratch device " + name;
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException(this);
    }
  }

  /** A shared page of zeros to fill reads of holes from. */
  private static final class Zeros {
    static final byte[] BYTES = new byte[PAGE];
  }
}
