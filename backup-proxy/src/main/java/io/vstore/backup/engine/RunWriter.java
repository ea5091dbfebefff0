package io.vstore.backup.engine;

import io.vstore.blockstore.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Gathers decoded chunks that follow each other in a restore's target into one direct buffer and
 * writes them with one positional write: a 64 KiB write per chunk cost a system call and, from a heap
 * buffer, the JDK's copy into its temporary direct buffer anyway; this copy replaces that one and the
 * writes become up to {@link #BUFFER_BYTES}. Chunks not adjacent (holes between them, another place
 * of the volume) are never joined, so holes are never written. One per restore worker, not
 * thread-safe; its buffer comes from a small process-wide pool and goes back at {@link #close}.
 */
final class RunWriter implements AutoCloseable {
  /** The largest write; a multiple of every chunk size (powers of two up to 4 MiB). */
  static final int BUFFER_BYTES = 4 << 20;
  private static final int POOLED = 16;
  private static final ConcurrentLinkedQueue<ByteBuffer> POOL = new ConcurrentLinkedQueue<>();

  /** Told which chunks are in the target once their write returned. */
  interface Written {
    void chunks(long firstChunk, int count, long bytes) throws IOException;
  }

  private final BlockDevice target;
  private final int chunkSize;
  private final Written written;
  private ByteBuffer buffer;
  private long firstChunk;
  private int chunks;

  RunWriter(BlockDevice target, int chunkSize, Written written) {
    if (chunkSize <= 0 || BUFFER_BYTES % chunkSize != 0) {
      throw new IllegalArgumentException("chunk size " + chunkSize + " does not divide " + BUFFER_BYTES);
    }
    this.target = target;
    this.chunkSize = chunkSize;
    this.written = written;
    ByteBuffer b = POOL.poll();
    this.buffer = b != null ? b.clear() : ByteBuffer.allocateDirect(BUFFER_BYTES);
  }

  /** Writes {@code data} (its remaining bytes, position not moved) as chunk {@code chunkIndex}, possibly later. */
  void add(long chunkIndex, ByteBuffer data) throws IOException {
    // Joined only after whole chunks: a short chunk is the volume's last, nothing follows it.
    boolean follows = chunks > 0 && chunkIndex == firstChunk + chunks && buffer.position() == chunks * chunkSize;
    if (!follows || buffer.remaining() < data.remaining()) {
      flush();
    }
    if (chunks == 0) {
      firstChunk = chunkIndex;
    }
    buffer.put(data.duplicate());
    chunks++;
  }

  /** Writes what is gathered and reports it. */
  void flush() throws IOException {
    if (chunks == 0) {
      return;
    }
    buffer.flip();
    long bytes = buffer.remaining();
    try {
      target.write(firstChunk * chunkSize, buffer);
    } finally {
      buffer.clear();
    }
    int n = chunks;
    chunks = 0;
    written.chunks(firstChunk, n, bytes);
  }

  /** Returns the buffer to the pool; what was not flushed is dropped (the caller failed). */
  @Override
  public void close() {
    if (buffer != null) {
      if (POOL.size() < POOLED) {
        POOL.offer(buffer);
      }
      buffer = null;
    }
  }
}
