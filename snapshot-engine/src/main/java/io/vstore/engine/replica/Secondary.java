package io.vstore.engine.replica;

import io.vstore.blockstore.Extent;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** The other side of a pair as the primary writes to it: a volume of this process, or an NBD export. */
interface Secondary extends Closeable {
  /** Returns the secondary's size in bytes. */
  long size();

  /** Writes {@code src} at {@code offset}, refused with a {@link FencedException} if the pair moved past {@code epoch}. */
  void write(long offset, ByteBuffer src, long epoch) throws IOException;

  /** Makes the range read as zeros (releasing its space when {@code discard}). */
  void zero(long offset, long length, boolean discard, long epoch) throws IOException;

  /** Makes every completed write durable. */
  void flush(long epoch) throws IOException;

  /** Returns whether the secondary was created empty for this pair (zero ranges then need no write). */
  boolean startsEmpty();

  /** Flushes and returns the secondary's own change id, or null when it has no change tracking. */
  String flushedChangeId() throws IOException;

  /** Returns the ranges the secondary changed since its change id {@code changeId}, or null when it cannot tell. */
  List<Extent> changedSince(String changeId) throws IOException;

  /** Records on the secondary that its {@code own} change id matches the primary's {@code peer} (both pinned). */
  void agreed(String own, String peer) throws IOException;
}
