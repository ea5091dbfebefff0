package io.vstore.ovf.pkg;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.LongConsumer;

/**
 * Copies a delta disk from one device to another in ascending order, keeping what a delta says:
 * data ranges as they are (zeros inside them included), zero ranges as zeros (they hide the
 * parent's data), holes not at all (the parent shows through). Used both ways: exporting a clone's
 * delta into a streamOptimized writer, importing a random-access delta image onto a clone.
 */
final class DeltaCopy {
  /** Bytes of allocation asked for at a time. */
  private static final long WINDOW = 64L << 20;
  private static final int CHUNK = 1 << 20;

  private DeltaCopy() {}

  /** Copies {@code src}'s data and zero ranges onto {@code dst}; returns the bytes of data written. */
  static long copy(BlockDevice src, BlockDevice dst, LongConsumer progress) throws IOException {
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
    long size = src.size();
    long written = 0;
    for (long at = 0; at < size; ) {
      long span = Math.min(WINDOW, size - at);
      for (Extent e : src.allocation(at, span)) {
        switch (e.kind()) {
          case HOLE -> { }
          case ZERO -> dst.writeZeroes(e.offset(), e.length(), false);
          case DATA -> {
            for (long off = e.offset(); off < e.end(); off += buf.limit()) {
              buf.clear().limit((int) Math.min(CHUNK, e.end() - off));
              src.read(off, buf);
              dst.write(off, buf.flip());
              written += buf.limit();
            }
          }
        }
      }
      at += span;
      progress.accept(at);
    }
    return written;
  }
}
