package io.vstore.engine.move;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.DepthExtent;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Copies what a pool rebalance moves between datastores offline, 1 MiB at a time through one
 * buffer: a snapshot flat into a new volume (a replica's base, copied once per datastore), and a
 * linked clone's own layer onto a clone of the copied base (a desktop's system disk), so the
 * target holds the base once and each desktop's writes, as the source did. Holes are not copied;
 * ranges of a clone's own layer that read zeros are recorded as zeros, since they hide the base's
 * data there.
 */
final class LayerCopy {
  static final int CHUNK = 1 << 20;
  private final ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK);
  private long copied;

  /** Returns the bytes of data written so far. */
  long copied() {
    return copied;
  }

  /** Copies every DATA extent of {@code source} into {@code target} (same size, empty). */
  void copyData(Volume source, Volume target) throws IOException {
    List<long[]> ranges = new ArrayList<>();
    for (Extent e : source.allocation(0, source.size())) {
      if (e.kind() == Extent.Kind.DATA) {
        ranges.add(new long[] {e.offset(), e.end()});
      }
    }
    copy(source, target, ranges);
  }

  /** Copies what {@code source} holds itself (depth 1, not through its parent) into {@code target}. */
  void copyOwnLayer(Volume source, Volume target) throws IOException {
    List<long[]> ranges = new ArrayList<>();
    for (DepthExtent e : source.allocationDepth(0, source.size())) {
      if (e.depth() == 1) {
        ranges.add(new long[] {e.offset(), e.end()});
      }
    }
    copy(source, target, ranges);
  }

  private void copy(Volume source, Volume target, List<long[]> ranges) throws IOException {
    if (source.size() != target.size()) {
      throw new IllegalArgumentException("cannot copy " + source + " (" + source.size() + " bytes) into " + target
          + " (" + target.size() + " bytes)");
    }
    for (long[] r : ranges) {
      for (long at = r[0]; at < r[1]; at += CHUNK) {
        int n = (int) Math.min(CHUNK, r[1] - at);
        buffer.clear().limit(n);
        source.read(at, buffer);
        buffer.flip();
        if (isZero(buffer)) {
          target.writeZeroes(at, n, false);
        } else {
          target.write(at, buffer);
          copied += n;
        }
      }
    }
  }

  private static boolean isZero(ByteBuffer b) {
    int i = b.position();
    int end = b.limit();
    for (; i + Long.BYTES <= end; i += Long.BYTES) {
      if (b.getLong(i) != 0) {
        return false;
      }
    }
    for (; i < end; i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
