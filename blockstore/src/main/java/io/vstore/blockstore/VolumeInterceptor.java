package io.vstore.blockstore;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Sees every change to a volume's head, whichever handle makes it, and decides what happens
 * around it: the mover mirrors writes to a destination, replication sends them to a secondary.
 * Each call carries a {@link Local} that performs the volume's own operation; an interceptor calls
 * it exactly once (before, after or around its own work, under its own locks if it needs them)
 * unless it throws first, and the operation is acknowledged to the volume's user only when the
 * interceptor returns. The size, range and read-only checks have passed before it is called.
 *
 * <p>Called on the I/O path by the thread that does the operation, concurrently from many
 * threads; implementations are thread-safe. An exception thrown here reaches the volume's user as
 * the operation's failure. A volume without an interceptor pays nothing for this hook.
 */
public interface VolumeInterceptor {
  /** Performs the volume's own operation, the one the interceptor is called around. */
  @FunctionalInterface
  interface Local {
    /** Applies the operation to the volume itself. */
    void apply() throws IOException;
  }

  /**
   * Intercepts a write of {@code src.remaining()} bytes at {@code offset}. {@link Local#apply}
   * consumes {@code src} (its position moves to its limit): an interceptor that needs the bytes
   * after it uses {@code src.duplicate()} taken before.
   */
  void write(long offset, ByteBuffer src, Local local) throws IOException;

  /**
   * Intercepts a zeroing of {@code length} bytes at {@code offset}: a discard when {@code discard}
   * is set, else a write of zeros. Either way the range reads as zeros afterwards.
   */
  void zero(long offset, long length, boolean discard, Local local) throws IOException;

  /** Intercepts a flush: what completed before it is durable once it returns. */
  void flush(Local local) throws IOException;
}
