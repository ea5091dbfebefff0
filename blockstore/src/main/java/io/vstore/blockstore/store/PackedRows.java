package io.vstore.blockstore.store;

import java.util.Arrays;

/**
 * Rows of a fixed number of {@code long} fields, sorted by their first field (the <em>key</em>,
 * unique), bit-packed into one {@code int[]}: the memory of a {@link MapPage} or
 * {@link RecordPage}. Each field but the key is stored frame-of-reference: as its distance from the
 * smallest value of that field in the table, in just the bits the largest distance needs; the key
 * (a small offset inside the page) takes a fixed width in the low bits of a row's first int, so
 * the binary search reads one int per probe. A row takes as many whole ints as its fields' bits
 * need: a page of scattered 4 KiB extents, whose entries differ only in block, segment, offset and
 * generation, takes 8 bytes a row instead of 32.
 *
 * <p>A value outside its field's current range re-lays out the table (every row re-encoded with
 * the widened field, plus one bit of room for the next): pages hold at most a few hundred rows, and
 * values that grow (generations, segments) widen a field by doubling its range, so this is rare.
 * Widths never shrink while the table lives; a page loaded again starts from its values.
 *
 * <p>Not thread-safe: the owning page guards it.
 */
final class PackedRows {
  /** Bytes of this object (48) and the headers of its four arrays (16 each), compressed oops. */
  private static final int FIXED_BYTES = 48 + 4 * 16;

  private final int keyBits;
  private final int keyMask;
  /** Per field: the value stored as 0 (the key's is 0). */
  private final long[] bases;
  /** Per field: bits in a row (0 when every row holds the base). */
  private final int[] widths;
  /** Per field: bit position in a row. */
  private final int[] shifts;
  /** Ints per row. */
  private int stride;
  private int[] data;
  private int count;

  /**
   * Creates a table of {@code fields} fields (the key first, of {@code keyBits} bits, at most 31)
   * holding {@code rows} (each {@code fields} values, sorted by unique key), with room for
   * {@code capacity} rows.
   */
  PackedRows(int fields, int keyBits, long[][] rows, int count, int capacity) {
    if (keyBits < 1 || keyBits > 31 || fields < 1) {
      throw new IllegalArgumentException("bad packed layout: " + fields + " fields, key of " + keyBits + " bits");
    }
    this.keyBits = keyBits;
    this.keyMask = (1 << keyBits) - 1;
    this.bases = new long[fields];
    this.widths = new int[fields];
    this.shifts = new int[fields];
    widths[0] = keyBits;
    long[] min = new long[fields];
    long[] max = new long[fields];
    Arrays.fill(min, Long.MAX_VALUE);
    Arrays.fill(max, Long.MIN_VALUE);
    for (int i = 0; i < count; i++) {
      widen(rows[i], min, max);
    }
    layout(min, max, false);
    this.data = new int[Math.max(1, capacity) * stride];
    for (int i = 0; i < count; i++) {
      writeRow(data, i * stride, rows[i]);
    }
    this.count = count;
  }

  private void widen(long[] row, long[] min, long[] max) {
    for (int f = 1; f < bases.length; f++) {
      min[f] = Math.min(min[f], row[f]);
      max[f] = Math.max(max[f], row[f]);
    }
  }

  /** Sets bases, widths, shifts and stride for fields ranging over {@code [min, max]}; {@code slack} adds a bit to grown fields. */
  private void layout(long[] min, long[] max, boolean slack) {
    int bit = keyBits;
    for (int f = 1; f < bases.length; f++) {
      int w;
      if (min[f] > max[f]) { // no rows
        bases[f] = 0;
        w = 0;
      } else {
        bases[f] = min[f];
        w = 64 - Long.numberOfLeadingZeros(max[f] - min[f]); // an unsigned distance
        if (slack && w > widths[f] && w < 64) {
          w++;
        }
      }
      widths[f] = w;
      shifts[f] = bit;
      bit += w;
    }
    stride = Math.max(1, (bit + 31) >>> 5);
  }

  /** Returns the number of rows. */
  int size() {
    return count;
  }

  /** Returns the key of row {@code i}. */
  int key(int i) {
    return data[i * stride] & keyMask;
  }

  /** Returns field {@code f} of row {@code i}. */
  long get(int i, int f) {
    int w = widths[f];
    if (w == 0) {
      return bases[f];
    }
    int bit = shifts[f];
    int at = i * stride + (bit >>> 5);
    int sh = bit & 31;
    long v = (data[at] & 0xFFFFFFFFL) >>> sh;
    for (int got = 32 - sh; got < w; got += 32) {
      v |= (data[++at] & 0xFFFFFFFFL) << got;
    }
    return bases[f] + (w == 64 ? v : v & ((1L << w) - 1));
  }

  /** Returns the row holding {@code key}, or {@code -(insertion point) - 1}. */
  int find(int key) {
    int lo = 0;
    int hi = count - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      int k = data[mid * stride] & keyMask;
      if (k < key) {
        lo = mid + 1;
      } else if (k > key) {
        hi = mid - 1;
      } else {
        return mid;
      }
    }
    return -(lo + 1);
  }

  /** Adds {@code row}, or replaces the row with its key. */
  void put(long[] row) {
    assert row[0] >= 0 && row[0] <= keyMask : "key " + row[0] + " beyond " + keyBits + " bits";
    if (!fits(row)) {
      relayout(row);
    }
    int i = find((int) row[0]);
    if (i < 0) {
      i = -i - 1;
      if ((count + 1) * stride > data.length) {
        int capacity = count + Math.max(4, count >>> 2); // a quarter more: little slack, few copies
        data = Arrays.copyOf(data, capacity * stride);
      }
      System.arraycopy(data, i * stride, data, (i + 1) * stride, (count - i) * stride);
      count++;
    }
    writeRow(data, i * stride, row);
  }

  /** Removes the row holding {@code key}, if any. */
  void remove(int key) {
    int i = find(key);
    if (i >= 0) {
      System.arraycopy(data, (i + 1) * stride, data, i * stride, (count - i - 1) * stride);
      count--;
    }
  }

  /** Returns the bytes this table holds: its arrays, with their headers, and itself. */
  long bytes() {
    return FIXED_BYTES + 16L * bases.length + 4L * data.length;
  }

  private boolean fits(long[] row) {
    for (int f = 1; f < bases.length; f++) {
      long d = row[f] - bases[f];
      int w = widths[f];
      if (row[f] < bases[f] || (w < 64 && (d >>> w) != 0)) {
        return false;
      }
    }
    return true;
  }

  /** Re-encodes every row in a layout that also holds {@code row}. */
  private void relayout(long[] row) {
    int fields = bases.length;
    long[][] rows = new long[count][fields];
    long[] min = new long[fields];
    long[] max = new long[fields];
    Arrays.fill(min, Long.MAX_VALUE);
    Arrays.fill(max, Long.MIN_VALUE);
    for (int i = 0; i < count; i++) {
      for (int f = 0; f < fields; f++) {
        rows[i][f] = get(i, f);
      }
      widen(rows[i], min, max);
    }
    widen(row, min, max);
    layout(min, max, true);
    int[] next = new int[(count + Math.max(4, count >>> 2)) * stride];
    for (int i = 0; i < count; i++) {
      writeRow(next, i * stride, rows[i]);
    }
    data = next;
  }

  private void writeRow(int[] d, int start, long[] row) {
    Arrays.fill(d, start, start + stride, 0);
    d[start] = (int) row[0];
    for (int f = 1; f < bases.length; f++) {
      int w = widths[f];
      if (w == 0) {
        continue;
      }
      long v = row[f] - bases[f];
      int bit = shifts[f];
      int at = start + (bit >>> 5);
      int sh = bit & 31;
      // The row was zeroed, so or-ing the pieces in is enough; bits above w of v are zero (fits).
      d[at] |= (int) (v << sh);
      for (int done = 32 - sh; done < w; done += 32) {
        d[++at] |= (int) (v >>> done);
      }
    }
  }
}
