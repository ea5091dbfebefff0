package io.vstore.backup.engine;

import io.vstore.blockstore.Extent;
import java.util.ArrayList;
import java.util.List;

/** Turns byte extents of a device into the sorted, disjoint, chunk-aligned ranges that cover them. */
final class ChunkRanges {
  private ChunkRanges() {}

  /**
   * Returns {@code [from, to)} pairs covering every extent of {@code extents} (sorted by offset),
   * widened to whole chunks of {@code chunkSize} and clamped to {@code size}; touching or overlapping
   * ranges are merged.
   */
  static List<long[]> cover(List<Extent> extents, int chunkSize, long size) {
    List<long[]> out = new ArrayList<>();
    for (Extent e : extents) {
      long from = e.offset() / chunkSize * chunkSize;
      long to = Math.min(size, ceil(e.end(), chunkSize));
      if (to <= from) {
        continue;
      }
      if (!out.isEmpty() && out.getLast()[1] >= from) {
        long[] last = out.getLast();
        last[1] = Math.max(last[1], to);
      } else {
        out.add(new long[] {from, to});
      }
    }
    return out;
  }

  /** Returns only the DATA extents of {@code extents}. */
  static List<Extent> data(List<Extent> extents) {
    List<Extent> out = new ArrayList<>();
    for (Extent e : extents) {
      if (e.kind() == Extent.Kind.DATA) {
        out.add(e);
      }
    }
    return out;
  }

  /** Returns the total length of {@code ranges}. */
  static long total(List<long[]> ranges) {
    long t = 0;
    for (long[] r : ranges) {
      t += r[1] - r[0];
    }
    return t;
  }

  /** Returns {@code v} rounded up to a multiple of {@code unit}. */
  static long ceil(long v, long unit) {
    return (v + unit - 1) / unit * unit;
  }
}
