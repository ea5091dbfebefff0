package io.vstore.backup.repo;

import java.io.IOException;

/**
 * Builds a new backup point: the chunk map of a volume of fixed size. Chunks neither set nor
 * cleared are taken from the base point (holes if there is none), so an incremental backup tells
 * only what changed and the point is still a full one. One writer is used by one thread; chunk
 * indexes may come in any order. Memory is bounded: pages are spilled to the repository as needed.
 */
public interface PointWriter {
  /**
   * Records that chunk {@code chunkIndex} holds the chunk {@code id} of {@code plainLength} bytes
   * (the chunk size, or what remains of the volume for its last chunk).
   */
  void set(long chunkIndex, ChunkId id, int plainLength) throws IOException;

  /** Records that chunk {@code chunkIndex} is a hole (reads as zeros). */
  void clear(long chunkIndex) throws IOException;

  /**
   * Flushes {@code sink} (the point's chunks become durable and indexed), writes the changed pages,
   * then the manifest: the point exists once this returns.
   */
  PointInfo commit(PointMeta meta, ChunkSink sink) throws IOException;
}
