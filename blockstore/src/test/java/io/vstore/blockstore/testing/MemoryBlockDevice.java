package io.vstore.blockstore.testing;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A simple, obviously correct in-memory device: the reference model for randomized tests and a
 * stand-in device for protocol tests. Pages that were never written, or were zeroed, are absent.
 */
public final class MemoryBlockDevice implements BlockDevice {
  /** Granularity of the model's allocation; allocation() reports at this granularity. */
  public static final int PAGE = 4096;

  private final String name;
  private final long size;
  private final boolean readOnly;
  private final TreeMap<Long, byte[]> pages = new TreeMap<>(); // guarded by this
  private boolean closed; // guarded by this

  public MemoryBlockDevice(String name, long size) {
    this(name, size, false);
  }

  public MemoryBlockDevice(String name, long size, boolean readOnly) {
    if (size < 0) {
      throw new IllegalArgumentException("size " + size);
    }
    this.name = name;
    this.size = size;
    this.readOnly = readOnly;
  }

  /** Returns a read-only copy of the current contents. */
  public synchronized MemoryBlockDevice snapshot(String snapshotName) {
    MemoryBlockDevice copy = new MemoryBlockDevice(snapshotName, size, true);
    pages.forEach((k, v) -> copy.pages.put(k, v.clone()));
    return copy;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public synchronized void read(long offset, ByteBuffer dst) {
    checkOpen();
    OutOfRangeException.check(this, offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      long page = pos / PAGE;
      int within = (int) (pos % PAGE);
      int n = Math.min(dst.remaining(), PAGE - within);
      byte[] data = pages.get(page);
      if (data == null) {
        for (int i = 0; i < n; i++) {
          dst.put((byte) 0);
        }
      } else {
        dst.put(data, within, n);
      }
      pos += n;
    }
  }

  @Override
  public synchronized void write(long offset, ByteBuffer src) throws ReadOnlyDeviceException {
    checkWritable();
    OutOfRangeException.check(this, offset, src.remaining());
    long pos = offset;
    while (src.hasRemaining()) {
      long page = pos / PAGE;
      int within = (int) (pos % PAGE);
      int n = Math.min(src.remaining(), PAGE - within);
      byte[] data = pages.computeIfAbsent(page, p -> new byte[PAGE]);
      src.get(data, within, n);
      pos += n;
    }
  }

  @Override
  public synchronized void flush() {
    checkOpen();
  }

  @Override
  public synchronized void writeZeroes(long offset, long length, boolean mayUnmap) throws ReadOnlyDeviceException {
    checkWritable();
    OutOfRangeException.check(this, offset, length);
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long page = pos / PAGE;
      int within = (int) (pos % PAGE);
      int n = (int) Math.min(end - pos, PAGE - within);
      byte[] data = pages.get(page);
      if (data != null) {
        Arrays.fill(data, within, within + n, (byte) 0);
        if (isZero(data)) {
          pages.remove(page);
        }
      }
      pos += n;
    }
  }

  @Override
  public void discard(long offset, long length) throws ReadOnlyDeviceException {
    writeZeroes(offset, length, true);
  }

  @Override
  public synchronized List<Extent> allocation(long offset, long length) {
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    ExtentList out = new ExtentList();
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long page = pos / PAGE;
      long pageEnd = Math.min(end, (page + 1) * PAGE);
      out.add(pos, pageEnd - pos, pages.containsKey(page) ? Extent.Kind.DATA : Extent.Kind.HOLE);
      pos = pageEnd;
    }
    return out.toList();
  }

  /** Returns the number of pages holding data. */
  public synchronized int allocatedPages() {
    return pages.size();
  }

  /** Returns the pages holding data, by page index. */
  public synchronized Map<Long, byte[]> pages() {
    TreeMap<Long, byte[]> copy = new TreeMap<>();
    pages.forEach((k, v) -> copy.put(k, v.clone()));
    return copy;
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public synchronized void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return "memory device " + name;
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

  private static boolean isZero(byte[] data) {
    for (byte b : data) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }
}
