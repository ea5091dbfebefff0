package io.vstore.blockstore.store;

import java.util.Arrays;
import java.util.List;

/**
 * The part of a block map held in memory for one page of the block space: the entries whose end
 * block lies in {@code (index * BLOCKS, (index + 1) * BLOCKS]}, sorted by end, in primitive arrays
 * (32 bytes an entry instead of about 150 as objects in a tree), plus the <em>spanner</em>: the
 * one entry, if any, that holds both the page's last block and the block after it, which a lookup
 * near the page's end needs and which lives in a later page.
 *
 * <p>Not thread-safe for changes: the owning volume's lock guards them (exclusive for changes,
 * shared for lookups), as for the map. {@link #evict} and the byte count synchronize on the page
 * because the cache evicts from any thread.
 */
final class MapPage extends MetadataCache.Page {
  /** Blocks per page, as a shift. */
  static final int SHIFT = 9;
  /** Blocks per page: 2 MiB of the volume. */
  static final long BLOCKS = 1L << SHIFT;
  private static final int OVERHEAD = 96;
  private static final int ENTRY_BYTES = 32;
  /** The end offset in the page takes the low bits of {@link #packed}, the record block the rest. */
  private static final int END_BITS = SHIFT + 1;

  private final BlockMap owner;
  final long index;
  private final long base;
  private int count;
  /** Per entry: end - base in the low {@link #END_BITS} bits, the record block above them. */
  private int[] packed;
  /** Per entry: the length in blocks, negated for ZERO entries. */
  private int[] lengths;
  /** Per entry: segment, offset, generation. */
  private long[] longs;
  /** The entry holding blocks {@code limit - 1} and {@code limit}, or null. */
  private MapEntry spanner;
  private long countedBytes;
  private boolean detached;

  /** Creates page {@code index} of {@code owner} holding {@code entries} (sorted by end) and {@code spanner}. */
  MapPage(BlockMap owner, long index, List<MapEntry> entries, MapEntry spanner) {
    this.owner = owner;
    this.index = index;
    this.base = index << SHIFT;
    int capacity = Math.max(2, entries.size());
    this.packed = new int[capacity];
    this.lengths = new int[capacity];
    this.longs = new long[3 * capacity];
    for (MapEntry e : entries) {
      set(count++, e);
    }
    this.spanner = spanner;
    this.countedBytes = bytesFor(capacity);
  }

  /** Returns the page holding the entry that ends at block {@code end}. */
  static long indexOfEnd(long end) {
    return (end - 1) >>> SHIFT;
  }

  /** Returns the first block after page {@code index}, the limit its spanner crosses. */
  static long limitOf(long index) {
    return (index + 1) << SHIFT;
  }

  private static long bytesFor(int capacity) {
    return OVERHEAD + (long) capacity * ENTRY_BYTES;
  }

  private void set(int i, MapEntry e) {
    long endOffset = e.end() - base;
    assert endOffset > 0 && endOffset <= BLOCKS : e + " is not in page " + index;
    if (e.recordBlock() >= 1 << (31 - END_BITS)) {
      throw new IllegalStateException("map entry " + e + " has record block " + e.recordBlock() + ", beyond the page format");
    }
    packed[i] = (int) endOffset | e.recordBlock() << END_BITS;
    lengths[i] = e.kind() == MapEntry.Kind.DATA ? e.length() : -e.length();
    RecordKey r = e.record();
    longs[3 * i] = r == null ? 0 : r.segment();
    longs[3 * i + 1] = r == null ? 0 : r.offset();
    longs[3 * i + 2] = e.generation();
  }

  private long endAt(int i) {
    return base + (packed[i] & ((1 << END_BITS) - 1));
  }

  private MapEntry entryAt(int i) {
    long end = endAt(i);
    int l = lengths[i];
    long gen = longs[3 * i + 2];
    if (l > 0) {
      RecordKey r = new RecordKey(longs[3 * i], longs[3 * i + 1]);
      return new MapEntry(end - l, l, MapEntry.Kind.DATA, r, packed[i] >>> END_BITS, gen);
    }
    return new MapEntry(end + l, -l, MapEntry.Kind.ZERO, null, 0, gen);
  }

  /** Returns the index of the entry ending at {@code end}, or {@code -(insertion point) - 1}. */
  private int find(long end) {
    int lo = 0;
    int hi = count - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      long e = endAt(mid);
      if (e < end) {
        lo = mid + 1;
      } else if (e > end) {
        hi = mid - 1;
      } else {
        return mid;
      }
    }
    return -(lo + 1);
  }

  /** Adds to {@code out}, in order, this page's entries that end after {@code from} and start before {@code to}. */
  void collect(long from, long to, List<MapEntry> out) {
    touch();
    int i = find(from + 1);
    if (i < 0) {
      i = -i - 1;
    }
    for (; i < count; i++) {
      long end = endAt(i);
      if (end - Math.abs(lengths[i]) >= to) {
        break;
      }
      out.add(entryAt(i));
    }
  }

  /** Returns the entry ending at block {@code end}, or null. */
  MapEntry entryEnding(long end) {
    touch();
    int i = find(end);
    return i < 0 ? null : entryAt(i);
  }

  /** Returns the entries ending in this page, in order. */
  List<MapEntry> entries() {
    List<MapEntry> out = new java.util.ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(entryAt(i));
    }
    return out;
  }

  /** Returns the spanner: the entry holding this page's last block and the next one, or null. */
  MapEntry spanner() {
    return spanner;
  }

  /** Sets the spanner. */
  void spanner(MapEntry e) {
    spanner = e;
  }

  /** Returns the number of entries ending in this page. */
  int size() {
    return count;
  }

  /** Adds or replaces the entry ending where {@code e} ends. */
  void put(MapEntry e) {
    int i = find(e.end());
    if (i >= 0) {
      set(i, e);
      return;
    }
    i = -i - 1;
    if (count == packed.length) {
      grow(packed.length * 2);
    }
    System.arraycopy(packed, i, packed, i + 1, count - i);
    System.arraycopy(lengths, i, lengths, i + 1, count - i);
    System.arraycopy(longs, 3 * i, longs, 3 * i + 3, 3 * (count - i));
    count++;
    set(i, e);
  }

  /** Removes the entry ending at block {@code end}, if any. */
  void remove(long end) {
    int i = find(end);
    if (i < 0) {
      return;
    }
    System.arraycopy(packed, i + 1, packed, i, count - i - 1);
    System.arraycopy(lengths, i + 1, lengths, i, count - i - 1);
    System.arraycopy(longs, 3 * i + 3, longs, 3 * i, 3 * (count - i - 1));
    count--;
  }

  private void grow(int capacity) {
    packed = Arrays.copyOf(packed, capacity);
    lengths = Arrays.copyOf(lengths, capacity);
    longs = Arrays.copyOf(longs, 3 * capacity);
    recount(bytesFor(capacity));
  }

  private synchronized void recount(long bytes) {
    if (!detached) {
      owner.cache().resized(bytes - countedBytes);
    }
    countedBytes = bytes;
  }

  @Override
  synchronized long bytes() {
    return countedBytes;
  }

  @Override
  synchronized boolean evict() {
    if (detached || !owner.evict(this)) {
      return false;
    }
    detached = true;
    return true;
  }

  /** Marks the page dropped with its map; returns whether it was still counted. */
  synchronized boolean detach() {
    boolean was = !detached;
    detached = true;
    return was;
  }
}
