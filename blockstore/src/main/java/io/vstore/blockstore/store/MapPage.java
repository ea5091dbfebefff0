package io.vstore.blockstore.store;

import java.util.List;

/**
 * The part of a block map held in memory for one page of the block space: the entries whose end
 * block lies in {@code (index * BLOCKS, (index + 1) * BLOCKS]}, sorted by end, bit-packed in a
 * {@link PackedRows} (each field stored as its distance from the page's smallest value of it, in
 * the bits the page needs: 8 to 12 bytes an entry for scattered small writes, instead of about 150
 * as objects in a tree), plus the <em>spanner</em>: the one entry, if any, that holds both the
 * page's last block and the block after it, which a lookup near the page's end needs and which
 * lives in a later page.
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
  /**
   * Bytes a page costs beside its rows: the page object (56), its node in the page table (32) with
   * its boxed key (16), its node in the cache's CLOCK queue (24), and a spanner entry with its
   * record key (64) when it has one.
   */
  private static final int OVERHEAD = 56 + 32 + 16 + 24 + 64;

  // The fields of a row; the key is the entry's end - base - 1, in SHIFT bits.
  private static final int KEY = 0;
  /** 0 for DATA, 1 for ZERO. */
  private static final int KIND = 1;
  private static final int LENGTH = 2;
  private static final int RECORD_BLOCK = 3;
  private static final int SEGMENT = 4;
  private static final int OFFSET = 5;
  private static final int GENERATION = 6;
  private static final int FIELDS = 7;

  private final BlockMap owner;
  final long index;
  private final long base;
  private final PackedRows rows;
  /** The entry holding blocks {@code limit - 1} and {@code limit}, or null. */
  private MapEntry spanner;
  private long countedBytes;
  private boolean detached;

  /** Creates page {@code index} of {@code owner} holding {@code entries} (sorted by end) and {@code spanner}. */
  MapPage(BlockMap owner, long index, List<MapEntry> entries, MapEntry spanner) {
    this.owner = owner;
    this.index = index;
    this.base = index << SHIFT;
    // A ZERO entry has no record: it borrows the first DATA entry's, so it widens no field.
    RecordKey filler = null;
    for (MapEntry e : entries) {
      if (e.record() != null) {
        filler = e.record();
        break;
      }
    }
    long[][] values = new long[entries.size()][];
    for (int i = 0; i < values.length; i++) {
      values[i] = row(entries.get(i), filler);
    }
    this.rows = new PackedRows(FIELDS, SHIFT, values, values.length, Math.max(2, values.length));
    this.spanner = spanner;
    this.countedBytes = OVERHEAD + rows.bytes();
  }

  /** Returns the page holding the entry that ends at block {@code end}. */
  static long indexOfEnd(long end) {
    return (end - 1) >>> SHIFT;
  }

  /** Returns the first block after page {@code index}, the limit its spanner crosses. */
  static long limitOf(long index) {
    return (index + 1) << SHIFT;
  }

  /** Returns the row of {@code e}; a ZERO entry takes {@code filler}'s segment and offset (when not null). */
  private long[] row(MapEntry e, RecordKey filler) {
    long endOffset = e.end() - base;
    assert endOffset > 0 && endOffset <= BLOCKS : e + " is not in page " + index;
    RecordKey r = e.record() != null ? e.record() : filler;
    long[] v = new long[FIELDS];
    v[KEY] = endOffset - 1;
    v[KIND] = e.kind() == MapEntry.Kind.DATA ? 0 : 1;
    v[LENGTH] = e.length();
    v[RECORD_BLOCK] = e.recordBlock();
    v[SEGMENT] = r == null ? 0 : r.segment();
    v[OFFSET] = r == null ? 0 : r.offset();
    v[GENERATION] = e.generation();
    return v;
  }

  private long endAt(int i) {
    return base + rows.key(i) + 1;
  }

  private MapEntry entryAt(int i) {
    long end = endAt(i);
    int length = (int) rows.get(i, LENGTH);
    long gen = rows.get(i, GENERATION);
    if (rows.get(i, KIND) == 0) {
      RecordKey r = new RecordKey(rows.get(i, SEGMENT), rows.get(i, OFFSET));
      return new MapEntry(end - length, length, MapEntry.Kind.DATA, r, (int) rows.get(i, RECORD_BLOCK), gen);
    }
    return new MapEntry(end - length, length, MapEntry.Kind.ZERO, null, 0, gen);
  }

  /** Returns the index of the entry ending at {@code end}, or {@code -(insertion point) - 1}. */
  private int find(long end) {
    long key = end - base - 1;
    if (key < 0) {
      return -1; // before every entry of the page
    }
    return key >= BLOCKS ? -(rows.size() + 1) : rows.find((int) key);
  }

  /** Adds to {@code out}, in order, this page's entries that end after {@code from} and start before {@code to}. */
  void collect(long from, long to, List<MapEntry> out) {
    touch();
    int i = find(from + 1);
    if (i < 0) {
      i = -i - 1;
    }
    for (int count = rows.size(); i < count; i++) {
      if (endAt(i) - rows.get(i, LENGTH) >= to) {
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
    List<MapEntry> out = new java.util.ArrayList<>(rows.size());
    for (int i = 0; i < rows.size(); i++) {
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
    return rows.size();
  }

  /** Adds or replaces the entry ending where {@code e} ends. */
  void put(MapEntry e) {
    RecordKey filler = null;
    if (e.record() == null && rows.size() > 0) {
      filler = new RecordKey(rows.get(0, SEGMENT), rows.get(0, OFFSET)); // inside the page's range
    }
    rows.put(row(e, filler));
    long bytes = OVERHEAD + rows.bytes();
    if (bytes != countedBytes) {
      recount(bytes);
    }
  }

  /** Removes the entry ending at block {@code end}, if any. */
  void remove(long end) {
    long key = end - base - 1;
    if (key >= 0 && key < BLOCKS) {
      rows.remove((int) key);
    }
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
