package io.vstore.blockstore.store;

import java.util.List;

/**
 * The reference states of the records in 1 MiB of one segment, held in memory bit-packed in a
 * {@link PackedRows} sorted by offset (each field stored as its distance from the page's smallest
 * value of it: about 8 bytes a record of a scattered small write, instead of about 100 as objects
 * in a hash map). Every method synchronizes on the page: volumes change the states of their own
 * records in parallel, and their records share pages.
 */
final class RecordPage extends MetadataCache.Page {
  /** Segment bytes per page, as a shift. */
  static final int SHIFT = 20;
  /**
   * Bytes a page costs beside its rows: the page object (48), its node in the page table (32) with
   * its key (32), and its node in the cache's CLOCK queue (24).
   */
  private static final int OVERHEAD = 48 + 32 + 32 + 24;

  // The fields of a row; the key is the record's offset - base, in SHIFT bits.
  private static final int KEY = 0;
  private static final int VOLUME = 1;
  private static final int FIRST_BLOCK = 2;
  private static final int BLOCKS = 3;
  private static final int STORED = 4;
  private static final int LIVE = 5;
  private static final int FIELDS = 6;

  private final RecordTable owner;
  final RecordTable.PageKey key;
  private final long base;
  private final PackedRows rows;
  private long countedBytes;

  /** Creates the page {@code key} of {@code owner} holding {@code records} (sorted by offset) with {@code states}. */
  RecordPage(RecordTable owner, RecordTable.PageKey key, List<RecordKey> records, List<RecordState> states) {
    this.owner = owner;
    this.key = key;
    this.base = key.index() << SHIFT;
    long[][] values = new long[records.size()][];
    for (int i = 0; i < values.length; i++) {
      values[i] = row(records.get(i).offset(), states.get(i));
    }
    rows = new PackedRows(FIELDS, SHIFT, values, values.length, Math.max(2, values.length));
    countedBytes = OVERHEAD + rows.bytes();
  }

  private long[] row(long offset, RecordState s) {
    long[] v = new long[FIELDS];
    v[KEY] = offset - base;
    v[VOLUME] = s.volume();
    v[FIRST_BLOCK] = s.firstBlock();
    v[BLOCKS] = s.blocks();
    v[STORED] = s.storedBytes();
    v[LIVE] = s.liveBlocks();
    return v;
  }

  private RecordState stateAt(int i) {
    return new RecordState(rows.get(i, VOLUME), rows.get(i, FIRST_BLOCK), (int) rows.get(i, BLOCKS),
        (int) rows.get(i, STORED), (int) rows.get(i, LIVE));
  }

  private int find(long offset) {
    long k = offset - base;
    assert k >= 0 && k < 1L << SHIFT : "offset " + offset + " is not in page " + key;
    return rows.find((int) k);
  }

  /** Returns the state of the record at {@code offset}, or null. */
  synchronized RecordState get(long offset) {
    touch();
    int i = find(offset);
    return i < 0 ? null : stateAt(i);
  }

  /** Sets the state of the record at {@code offset}; null removes it. */
  synchronized void put(long offset, RecordState s) {
    if (s == null) {
      rows.remove((int) (offset - base));
      return;
    }
    rows.put(row(offset, s));
    long bytes = OVERHEAD + rows.bytes();
    if (bytes != countedBytes) {
      owner.cache().resized(bytes - countedBytes); // only while in the table: see RecordTable.put
      countedBytes = bytes;
    }
  }

  /** Returns the keys and states of every record in the page, for the checker. */
  synchronized void forEach(java.util.function.BiConsumer<RecordKey, RecordState> action) {
    for (int i = 0; i < rows.size(); i++) {
      action.accept(new RecordKey(key.segment(), base + rows.key(i)), stateAt(i));
    }
  }

  @Override
  synchronized long bytes() {
    return countedBytes;
  }

  @Override
  boolean evict() {
    return owner.evict(this);
  }
}
