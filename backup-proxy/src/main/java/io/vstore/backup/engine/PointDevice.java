package io.vstore.backup.engine;

import io.vstore.backup.repo.ChunkId;
import io.vstore.backup.repo.ChunkRef;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * A backup point as a read-only {@link BlockDevice}: reads fetch, verify and decode the chunks they
 * touch from the repository, holes read as zeros, and {@link #allocation} reports the chunk map
 * (DATA for stored chunks, HOLE for the rest). Instant restore and {@code backup mount} serve it.
 *
 * <p>Decoded chunks are kept in a small LRU cache bounded in bytes, so that the many small reads a
 * guest or a file system driver makes inside one chunk fetch it once. Thread-safe: the chunk map is
 * consulted under a lock (a {@link PointReader} is single-threaded), chunk fetches run outside it, in
 * parallel; two threads missing the same chunk at once may both fetch it, which costs a fetch but
 * keeps the cache free of waiting.
 */
public final class PointDevice implements BlockDevice {
  /** Default cache budget: enough for a few MiB of guest read-ahead at any chunk size. */
  public static final long DEFAULT_CACHE_BYTES = 32L << 20;

  private static final ByteBuffer ZEROS = ByteBuffer.allocate(64 << 10).asReadOnlyBuffer();

  private final Repository repository;
  private final PointReader point;
  private final boolean ownsPoint;
  private final long size;
  private final int chunkSize;
  private final int cacheChunks;
  /** Guarded by itself: decoded chunks by id, least recently used first. */
  private final LinkedHashMap<ChunkId, ByteBuffer> cache;
  private volatile boolean closed;

  private PointDevice(Repository repository, PointReader point, boolean ownsPoint, long cacheBytes) {
    this.repository = repository;
    this.point = point;
    this.ownsPoint = ownsPoint;
    this.size = point.size();
    this.chunkSize = point.chunkSize();
    this.cacheChunks = (int) Math.max(4, Math.min(4096, cacheBytes / chunkSize));
    this.cache = new LinkedHashMap<>(16, 0.75f, true);
  }

  /**
   * Opens point {@code idOrPrefix} of {@code repository} as a device with the default cache; closing
   * the device closes the point.
   */
  public static PointDevice open(Repository repository, String idOrPrefix) throws IOException {
    return new PointDevice(repository, repository.openPoint(idOrPrefix), true, DEFAULT_CACHE_BYTES);
  }

  /**
   * Serves {@code point} (of {@code repository}) with a cache of about {@code cacheBytes} (at least
   * four chunks); the caller keeps ownership of {@code point} and closes it after this device.
   */
  public static PointDevice over(Repository repository, PointReader point, long cacheBytes) {
    return new PointDevice(repository, point, false, cacheBytes);
  }

  /** Returns the point's id. */
  public String pointId() {
    return point.info().id();
  }

  /** Returns the point's chunk size in bytes. */
  public int chunkSize() {
    return chunkSize;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
    int length = dst.remaining();
    OutOfRangeException.check(this, offset, length);
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long index = pos / chunkSize;
      int within = (int) (pos - index * chunkSize);
      int n = (int) Math.min(end - pos, chunkSize - within);
      ByteBuffer chunk = chunk(index);
      if (chunk == null || within >= chunk.remaining()) {
        fillZeros(dst, n);
      } else {
        int have = Math.min(n, chunk.remaining() - within);
        dst.put(dst.position(), chunk, within, have);
        dst.position(dst.position() + have);
        fillZeros(dst, n - have); // a short stored chunk only at the end of the device; defensive
      }
      pos += n;
    }
  }

  /** Returns chunk {@code index} decoded (a read-only view, position 0), or null for a hole. */
  ByteBuffer chunk(long index) throws IOException {
    ChunkRef ref;
    synchronized (point) {
      ref = point.chunk(index);
    }
    if (ref == null) {
      return null;
    }
    synchronized (cache) {
      ByteBuffer hit = cache.get(ref.id());
      if (hit != null) {
        return hit.duplicate();
      }
    }
    ByteBuffer data = repository.readChunk(ref.id()).slice().asReadOnlyBuffer();
    if (data.remaining() != ref.plainLength()) {
      throw new CorruptDataException("bad backup point " + pointId() + ": chunk " + index
          + " decodes to " + data.remaining() + " bytes, the chunk map says " + ref.plainLength());
    }
    synchronized (cache) {
      cache.put(ref.id(), data);
      while (cache.size() > cacheChunks) {
        var eldest = cache.entrySet().iterator();
        eldest.next();
        eldest.remove();
      }
    }
    return data.duplicate();
  }

  private static void fillZeros(ByteBuffer dst, int n) {
    while (n > 0) {
      int k = Math.min(n, ZEROS.capacity());
      dst.put(ZEROS.duplicate().limit(k));
      n -= k;
    }
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    ExtentList out = new ExtentList();
    if (length == 0) {
      return out.toList();
    }
    long end = offset + length;
    long[] cursor = {offset};
    long firstChunk = offset / chunkSize;
    long lastChunk = (end - 1) / chunkSize + 1;
    synchronized (point) {
      point.forEach(firstChunk, lastChunk, ref -> {
        long from = Math.max(offset, ref.chunkIndex() * chunkSize);
        long to = Math.min(end, ref.chunkIndex() * chunkSize + ref.plainLength());
        if (to <= from) {
          return;
        }
        out.add(cursor[0], from - cursor[0], Extent.Kind.HOLE);
        out.add(from, to - from, Extent.Kind.DATA);
        cursor[0] = to;
      });
    }
    out.add(cursor[0], end - cursor[0], Extent.Kind.HOLE);
    return out.toList();
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    throw new ReadOnlyDeviceException(this);
  }

  @Override
  public void flush() {
    checkOpen();
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    throw new ReadOnlyDeviceException(this);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    throw new ReadOnlyDeviceException(this);
  }

  @Override
  public boolean isReadOnly() {
    return true;
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException(this);
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    synchronized (cache) {
      cache.clear();
    }
    if (ownsPoint) {
      point.close();
    }
  }

  @Override
  public String toString() {
    return "backup point " + point.info().id() + " (" + point.info().source() + ")";
  }
}
