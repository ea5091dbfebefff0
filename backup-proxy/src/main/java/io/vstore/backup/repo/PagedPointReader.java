package io.vstore.backup.repo;

import java.io.IOException;
import java.util.function.Consumer;

/** Reads a point's chunk map one page at a time, keeping only the last page read. */
final class PagedPointReader implements PointReader {
  private final Repository repo;
  private final Manifest manifest;
  private final long chunkCount;
  private int cachedPage = -1;
  private byte[] cachedIds;

  PagedPointReader(Repository repo, Manifest manifest) {
    this.repo = repo;
    this.manifest = manifest;
    this.chunkCount = (manifest.info().sizeBytes() + manifest.chunkSize() - 1) / manifest.chunkSize();
  }

  Manifest manifest() {
    return manifest;
  }

  @Override
  public PointInfo info() {
    return manifest.info();
  }

  @Override
  public long size() {
    return manifest.info().sizeBytes();
  }

  @Override
  public int chunkSize() {
    return manifest.chunkSize();
  }

  private int length(long index) {
    return (int) Math.min(manifest.chunkSize(), size() - index * manifest.chunkSize());
  }

  private byte[] page(int p) throws IOException {
    if (p != cachedPage) {
      int count = (int) Math.min(manifest.pageChunks(), chunkCount - (long) p * manifest.pageChunks());
      cachedIds = repo.readPage(manifest.root()[p], count);
      cachedPage = p;
    }
    return cachedIds;
  }

  @Override
  public ChunkRef chunk(long chunkIndex) throws IOException {
    if (chunkIndex < 0 || chunkIndex >= chunkCount) {
      throw new IndexOutOfBoundsException("chunk " + chunkIndex + " outside point " + info().id() + " of " + chunkCount
          + " chunks");
    }
    int p = (int) (chunkIndex / manifest.pageChunks());
    if (manifest.root()[p] == null) {
      return null;
    }
    byte[] ids = page(p);
    int o = (int) (chunkIndex % manifest.pageChunks()) * ChunkId.BYTES;
    return ref(chunkIndex, ids, o);
  }

  private ChunkRef ref(long chunkIndex, byte[] ids, int o) {
    for (int b = 0; b < ChunkId.BYTES; b++) {
      if (ids[o + b] != 0) {
        byte[] id = new byte[ChunkId.BYTES];
        System.arraycopy(ids, o, id, 0, ChunkId.BYTES);
        return new ChunkRef(chunkIndex, ChunkId.wrap(id), length(chunkIndex));
      }
    }
    return null;
  }

  @Override
  public void forEach(long fromChunk, long toChunk, Consumer<ChunkRef> visitor) throws IOException {
    if (fromChunk < 0 || toChunk > chunkCount || fromChunk > toChunk) {
      throw new IndexOutOfBoundsException("chunks " + fromChunk + ".." + toChunk + " outside point " + info().id()
          + " of " + chunkCount + " chunks");
    }
    int pageChunks = manifest.pageChunks();
    long i = fromChunk;
    while (i < toChunk) {
      int p = (int) (i / pageChunks);
      long pageEnd = Math.min(toChunk, (long) (p + 1) * pageChunks);
      if (manifest.root()[p] != null) {
        byte[] ids = page(p);
        for (long c = i; c < pageEnd; c++) {
          ChunkRef r = ref(c, ids, (int) (c % pageChunks) * ChunkId.BYTES);
          if (r != null) {
            visitor.accept(r);
          }
        }
      }
      i = pageEnd;
    }
  }

  @Override
  public void close() {
    cachedIds = null;
    cachedPage = -1;
  }

  @Override
  public String toString() {
    return "point " + info().id() + " of " + repo;
  }
}
