package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Builds a point's chunk map page by page. The root starts as the base point's page ids; a page is
 * loaded (from the base) when a chunk in it is first set or cleared, and written back when the
 * point commits or when too many pages are loaded (the least recently used is written and dropped;
 * touched again, it is read back from what was written). Memory is therefore bounded by
 * {@link #MAX_LOADED_BYTES} however large the volume, and an incremental point writes only the
 * pages whose range changed.
 */
final class PagedPointWriter implements PointWriter {
  /** Bytes of loaded pages kept before the least recently used one is written out. */
  static final long MAX_LOADED_BYTES = 64L * 1024 * 1024;
  /** Pages written at once when a point commits. */
  static final int PAGE_WRITERS = 8;

  private final Repository repo;
  private final long size;
  private final int chunkSize;
  private final int pageChunks;
  private final long chunkCount;
  private final ChunkId[] root;
  private final PointInfo base;
  private final int maxLoaded;
  private final LinkedHashMap<Integer, LoadedPage> loaded = new LinkedHashMap<>(16, 0.75f, true);
  private long bytesDelta;
  private boolean committed;

  private static final class LoadedPage {
    final byte[] ids;
    final int count;
    final long bytesAtLoad;

    LoadedPage(byte[] ids, int count, long bytesAtLoad) {
      this.ids = ids;
      this.count = count;
      this.bytesAtLoad = bytesAtLoad;
    }
  }

  PagedPointWriter(Repository repo, long size, PagedPointReader base) {
    if (size < 0) {
      throw new IllegalArgumentException("negative volume size " + size);
    }
    this.repo = repo;
    this.size = size;
    this.chunkSize = repo.config().chunkSize();
    this.pageChunks = repo.config().pageChunks();
    this.chunkCount = (size + chunkSize - 1) / chunkSize;
    long pages = Manifest.pageCount(size, chunkSize, pageChunks);
    if (pages > Integer.MAX_VALUE / ChunkId.BYTES) {
      throw new IllegalArgumentException("volume of " + size + " bytes is too large for one point");
    }
    if (base != null) {
      Manifest m = base.manifest();
      if (m.info().sizeBytes() != size || m.pageChunks() != pageChunks) {
        throw new IllegalArgumentException("base point " + m.info().id() + " is of a volume of " + m.info().sizeBytes()
            + " bytes, the new point of " + size + ": back the resized volume up without a base");
      }
      this.root = m.root().clone();
      this.base = m.info();
    } else {
      this.root = new ChunkId[(int) pages];
      this.base = null;
    }
    this.maxLoaded = (int) Math.max(2, MAX_LOADED_BYTES / ((long) pageChunks * ChunkId.BYTES));
  }

  /** Returns the length of chunk {@code index}: the chunk size, or what remains for the last one. */
  private int expectedLength(long index) {
    return (int) Math.min(chunkSize, size - index * chunkSize);
  }

  @Override
  public void set(long chunkIndex, ChunkId id, int plainLength) throws IOException {
    checkIndex(chunkIndex);
    if (plainLength != expectedLength(chunkIndex)) {
      throw new IllegalArgumentException("chunk " + chunkIndex + " of a volume of " + size + " bytes has "
          + expectedLength(chunkIndex) + " bytes, not " + plainLength);
    }
    if (id.isZero()) {
      throw new IllegalArgumentException("the all-zero chunk id is reserved for holes");
    }
    if (!repo.hasChunk(id)) {
      throw new IllegalArgumentException("chunk " + id.hex() + " is not in " + repo + ": add it to a sink first");
    }
    LoadedPage page = page(chunkIndex);
    System.arraycopy(id.bytesUnsafe(), 0, page.ids, slot(chunkIndex), ChunkId.BYTES);
  }

  @Override
  public void clear(long chunkIndex) throws IOException {
    checkIndex(chunkIndex);
    LoadedPage page = page(chunkIndex);
    Arrays.fill(page.ids, slot(chunkIndex), slot(chunkIndex) + ChunkId.BYTES, (byte) 0);
  }

  private int slot(long chunkIndex) {
    return (int) (chunkIndex % pageChunks) * ChunkId.BYTES;
  }

  private void checkIndex(long chunkIndex) {
    if (committed) {
      throw new IllegalStateException("point of " + repo + " already committed");
    }
    if (chunkIndex < 0 || chunkIndex >= chunkCount) {
      throw new IndexOutOfBoundsException("chunk " + chunkIndex + " outside a volume of " + chunkCount + " chunks");
    }
  }

  private LoadedPage page(long chunkIndex) throws IOException {
    int p = (int) (chunkIndex / pageChunks);
    LoadedPage page = loaded.get(p);
    if (page != null) {
      return page;
    }
    int count = (int) Math.min(pageChunks, chunkCount - (long) p * pageChunks);
    byte[] ids = repo.readPage(root[p], count);
    page = new LoadedPage(ids, count, dataBytes(p, ids, count));
    loaded.put(p, page);
    if (loaded.size() > maxLoaded) {
      Iterator<Map.Entry<Integer, LoadedPage>> eldest = loaded.entrySet().iterator();
      Map.Entry<Integer, LoadedPage> e = eldest.next();
      eldest.remove();
      store(e.getKey(), e.getValue());
    }
    return page;
  }

  private void store(int p, LoadedPage page) throws IOException {
    bytesDelta += write(p, page);
  }

  /** Writes page {@code p}, records its id in the root and returns the data bytes it gained since loaded. */
  private long write(int p, LoadedPage page) throws IOException {
    root[p] = repo.writePage(page.ids, page.count);
    return dataBytes(p, page.ids, page.count) - page.bytesAtLoad;
  }

  /**
   * Flushes the sink and writes the loaded pages at the same time, the pages {@link
   * #PAGE_WRITERS} at once: each is an object of its own with its own fsync, and in turn they were
   * most of an incremental's commit. Only the manifest, written after all of them, must wait for the
   * chunks; a page written before its chunks are durable is garbage until a manifest names it, as an
   * evicted page is.
   */
  private void flushAndStorePages(ChunkSink sink) throws IOException {
    List<Map.Entry<Integer, LoadedPage>> pages = new ArrayList<>(loaded.entrySet());
    loaded.clear();
    Semaphore writers = new Semaphore(PAGE_WRITERS);
    List<Future<Long>> written = new ArrayList<>(pages.size());
    Future<Long> flushed = null;
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      if (sink != null) {
        flushed = pool.submit(() -> {
          sink.flush();
          return 0L;
        });
      }
      for (Map.Entry<Integer, LoadedPage> e : pages) {
        written.add(pool.submit(() -> {
          writers.acquire();
          try {
            return write(e.getKey(), e.getValue());
          } finally {
            writers.release();
          }
        }));
      }
    } // waits for every task, so none still writes when this returns or throws
    if (flushed != null) {
      result(flushed); // the sink's failure first: it is what the caller must hear about
    }
    for (Future<Long> f : written) {
      bytesDelta += result(f);
    }
  }

  private long result(Future<Long> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while committing a point of " + repo);
    } catch (ExecutionException e) {
      switch (e.getCause()) {
        case IOException io -> throw io;
        case RuntimeException re -> throw re;
        case Error er -> throw er;
        case InterruptedException ie -> throw new InterruptedIOException("interrupted while committing a point of " + repo);
        default -> throw new IOException(e.getCause());
      }
    }
  }

  /** Returns the data bytes page {@code p} maps (holes excluded). */
  private long dataBytes(int p, byte[] ids, int count) {
    long bytes = 0;
    long first = (long) p * pageChunks;
    for (int i = 0; i < count; i++) {
      int o = i * ChunkId.BYTES;
      for (int b = 0; b < ChunkId.BYTES; b++) {
        if (ids[o + b] != 0) {
          bytes += expectedLength(first + i);
          break;
        }
      }
    }
    return bytes;
  }

  @Override
  public PointInfo commit(PointMeta meta, ChunkSink sink) throws IOException {
    return commit(meta, sink, null);
  }

  /** Commits under {@code wantedId} when it is not null (sync keeps a point's id); fails if that id exists. */
  PointInfo commit(PointMeta meta, ChunkSink sink, String wantedId) throws IOException {
    if (committed) {
      throw new IllegalStateException("point of " + repo + " already committed");
    }
    flushAndStorePages(sink);
    long newBytes = sink instanceof PackSink ps ? ps.claimNewBytes() : sink == null ? 0 : sink.stats().storedBytes();
    long bytes = (base == null ? 0 : base.bytes()) + bytesDelta;
    Aead aead = repo.dataKey();
    while (true) {
      String id = wantedId != null ? wantedId : Hex.of(Aead.randomBytes(8));
      PointInfo info = new PointInfo(id, meta.time(), meta.source(), meta.kind(), meta.group(), meta.changeId(), size,
          bytes, newBytes, base == null ? null : base.id(), meta.tags());
      Manifest m = new Manifest(info, chunkSize, pageChunks, meta.bytesRead(), root.clone());
      String key = Hex.pointKey(id);
      if (repo.store().putIfAbsent(key, ByteBuffer.wrap(m.write(aead, key)))) {
        committed = true;
        return info;
      }
      if (wantedId != null) {
        throw new IOException("point " + wantedId + " exists already in " + repo.store());
      }
    }
  }
}
