package io.vstore.blockstore.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A set of block ranges, merged as they are added: the changes of one generation in the change
 * log, or the answer to a changed-areas query. Not thread-safe.
 *
 * <p>Encoded as little-endian (start, length) pairs of u64, 16 bytes each.
 */
final class BlockRanges {
  private final TreeMap<Long, Long> ranges = new TreeMap<>(); // start -> end (exclusive)

  /** Adds blocks {@code [from, to)}. */
  void add(long from, long to) {
    if (from >= to) {
      return;
    }
    Map.Entry<Long, Long> before = ranges.floorEntry(from);
    if (before != null && before.getValue() >= from) {
      from = before.getKey();
      to = Math.max(to, before.getValue());
    }
    Map.Entry<Long, Long> next = ranges.ceilingEntry(from);
    while (next != null && next.getKey() <= to) {
      to = Math.max(to, next.getValue());
      ranges.remove(next.getKey());
      next = ranges.ceilingEntry(from);
    }
    ranges.put(from, to);
  }

  /** Adds every range of {@code encoded}. */
  void addEncoded(byte[] encoded) {
    ByteBuffer b = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN);
    while (b.remaining() >= 16) {
      long start = b.getLong();
      long length = b.getLong();
      add(start, start + length);
    }
  }

  boolean isEmpty() {
    return ranges.isEmpty();
  }

  void clear() {
    ranges.clear();
  }

  /** Returns the ranges, sorted, as {start, end} pairs. */
  List<long[]> list() {
    List<long[]> out = new ArrayList<>(ranges.size());
    ranges.forEach((s, e) -> out.add(new long[] {s, e}));
    return out;
  }

  byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(16 * ranges.size()).order(ByteOrder.LITTLE_ENDIAN);
    ranges.forEach((s, e) -> b.putLong(s).putLong(e - s));
    return b.array();
  }
}
