package io.vstore.backup.engine;

import io.vstore.backup.repo.ChunkRef;
import io.vstore.backup.repo.PointReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The byte ranges in which two points of the same chunk size differ, found chunk by chunk from their
 * chunk maps alone (no data is read): a chunk differs when one point holds it and the other has a
 * hole, or when their chunk ids differ. The maps are walked one page of chunks at a time, pages the
 * two points share (an incremental point reuses its base's unchanged pages) are skipped without
 * being read, and neighbouring differing chunks are merged into one range before it is handed on, so memory stays
 * at a page whatever the points' sizes.
 */
public final class PointDiff {
  /** Receives the differing ranges, ascending. */
  @FunctionalInterface
  public interface Visitor {
    /** Hears that {@code [offset, offset + length)} differs. */
    void range(long offset, long length) throws IOException;
  }

  private PointDiff() {}

  /**
   * Walks the chunk maps of {@code a} and {@code b} and hands every differing range to {@code visitor};
   * the part of the longer point beyond the shorter one's end differs where it holds data. Returns the
   * number of differing bytes.
   */
  public static long run(PointReader a, PointReader b, int pageChunks, Visitor visitor) throws IOException {
    // Windows are the chunk map's pages, so that samePage can answer for a whole window.
    if (a.chunkSize() != b.chunkSize()) {
      throw new IllegalArgumentException("points " + a.info().id() + " and " + b.info().id()
          + " have different chunk sizes: " + a.chunkSize() + " and " + b.chunkSize());
    }
    int chunkSize = a.chunkSize();
    long count = Math.max(a.chunkCount(), b.chunkCount());
    long end = Math.max(a.size(), b.size());
    long window = Math.max(1, pageChunks);
    long[] open = {-1, -1}; // the range being merged: [from, to) in chunks
    long[] total = {0};
    Visitor merged = (from, to) -> {
      if (open[0] >= 0 && open[1] == from) {
        open[1] = to;
        return;
      }
      if (open[0] >= 0) {
        emit(open[0], open[1], chunkSize, end, total, visitor);
      }
      open[0] = from;
      open[1] = to;
    };
    List<ChunkRef> left = new ArrayList<>();
    List<ChunkRef> right = new ArrayList<>();
    for (long w = 0; w < count; w += window) {
      long to = Math.min(count, w + window);
      if (a.samePage(b, w / window)) {
        continue; // the same page id: nothing in it differs, and it is not even read
      }
      left.clear();
      right.clear();
      a.forEach(Math.min(w, a.chunkCount()), Math.min(to, a.chunkCount()), left::add);
      b.forEach(Math.min(w, b.chunkCount()), Math.min(to, b.chunkCount()), right::add);
      int i = 0;
      int j = 0;
      while (i < left.size() || j < right.size()) {
        ChunkRef l = i < left.size() ? left.get(i) : null;
        ChunkRef r = j < right.size() ? right.get(j) : null;
        long li = l == null ? Long.MAX_VALUE : l.chunkIndex();
        long ri = r == null ? Long.MAX_VALUE : r.chunkIndex();
        if (li == ri) {
          if (!Objects.equals(l.id(), r.id()) || l.plainLength() != r.plainLength()) {
            merged.range(li, li + 1);
          }
          i++;
          j++;
        } else if (li < ri) {
          merged.range(li, li + 1);
          i++;
        } else {
          merged.range(ri, ri + 1);
          j++;
        }
      }
    }
    if (open[0] >= 0) {
      emit(open[0], open[1], chunkSize, end, total, visitor);
    }
    return total[0];
  }

  private static void emit(long from, long to, int chunkSize, long end, long[] total, Visitor visitor)
      throws IOException {
    long offset = from * chunkSize;
    long length = Math.min(end, to * chunkSize) - offset;
    total[0] += length;
    visitor.range(offset, length);
  }
}
