package io.vstore.backup.repo;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where a backup or sync session stores new chunks. Thread-safe: compression and encryption run on
 * the calling threads, so several threads adding chunks use several cores. Chunks go into packs
 * that are written when full; {@link #flush} makes everything added so far durable and indexed.
 * {@link #close} flushes (an interrupted session's chunks are kept so that the next one need not
 * send them again) unless the sink failed.
 */
public interface ChunkSink extends Closeable {
  /**
   * Stores the chunk unless the repository already has it. {@code plaintext}'s remaining bytes are
   * the chunk; its position is not moved. {@code id} must be {@link Repository#chunkId} of them.
   *
   * @return true if stored, false if the repository (or another sink of this process) already had it
   */
  boolean add(ChunkId id, ByteBuffer plaintext) throws IOException;

  /** Seals the open pack, writes every pack, then one index object naming their chunks. */
  void flush() throws IOException;

  /** Returns what this sink added so far (new chunks only). */
  SinkStats stats();
}
