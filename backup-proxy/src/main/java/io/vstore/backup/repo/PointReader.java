package io.vstore.backup.repo;

import java.io.Closeable;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * Reads the chunk map of one backup point, a page at a time (never the whole map). One reader is
 * used by one thread.
 */
public interface PointReader extends Closeable {
  /** Returns the point's manifest data. */
  PointInfo info();

  /** Returns the size of the volume in bytes. */
  long size();

  /** Returns the chunk size of the repository. */
  int chunkSize();

  /** Returns the number of chunks, the last one possibly short. */
  default long chunkCount() {
    return (size() + chunkSize() - 1) / chunkSize();
  }

  /** Returns chunk {@code chunkIndex}, or null if it is a hole. */
  ChunkRef chunk(long chunkIndex) throws IOException;

  /** Calls {@code visitor} for each chunk from {@code fromChunk} (inclusive) to {@code toChunk} (exclusive) that is not a hole, ascending. */
  void forEach(long fromChunk, long toChunk, Consumer<ChunkRef> visitor) throws IOException;

  @Override
  void close();
}
