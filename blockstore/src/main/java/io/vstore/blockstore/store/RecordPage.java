package io.vstore.blockstore.store;

import java.util.Arrays;
import java.util.List;

/**
 * The reference states of the records in 1 MiB of one segment, held in memory in primitive arrays
 * sorted by offset (32 bytes a record instead of about 100 as objects in a hash map). Every method
 * synchronizes on the page: volumes change the states of their own records in parallel, and their
 * records share pages.
 */
final class RecordPage extends MetadataCache.Page {
  /** Segment bytes per page, as a shift. */
  static final int SHIFT = 20;
  private static final int OVERHEAD = 96;
  private static final int ENTRY_BYTES = 32;

  private final RecordTable owner;
  final RecordTable.PageKey key;
  private final long base;
  private int count;
  /** Per record: offset - base. */
  private int[] offsets;
  /** Per record: volume, first block. */
  private long[] longs;
  /** Per record: blocks, stored bytes, live blocks. */
  private int[] ints;
  private long countedBytes;

  /** Creates the page {@code key} of {@code owner} holding {@code records} (sorted by offset) with {@code states}. */
  RecordPage(RecordTable owner, RecordTable.PageKey key, List<RecordKey> records, List<RecordState> states) {
    this.owner = owner;
    this.key = key;
    this.base = key.index() << SHIFT;
    int capacity = Math.max(2, records.size());
    offsets = new int[capacity];
    longs = new long[2 * capacity];
    ints = new int[3 * capacity];
    for (int i = 0; i < records.size(); i++) {
      set(count++, records.get(i).offset(), states.get(i));
    }
    countedBytes = OVERHEAD + (long) capacity * ENTRY_BYTES;
  }

  private void set(int i, long offset, RecordState s) {
    offsets[i] = (int) (offset - base);
    longs[2 * i] = s.volume();
    longs[2 * i + 1] = s.firstBlock();
    ints[3 * i] = s.blocks();
    ints[3 * i + 1] = s.storedBytes();
    ints[3 * i + 2] = s.liveBlocks();
  }

  private RecordState stateAt(int i) {
    return new RecordState(longs[2 * i], longs[2 * i + 1], ints[3 * i], ints[3 * i + 1], ints[3 * i + 2]);
  }

  private int find(long offset) {
    return Arrays.binarySearch(offsets, 0, count, (int) (offset - base));
  }

  /** Returns the state of the record at {@code offset}, or null. */
  synchronized RecordState get(long offset) {
    touch();
    int i = find(offset);
    return i < 0 ? null : stateAt(i);
  }

  /** Sets the state of the record at {@code offset}; null removes it. */
  synchronized void put(long offset, RecordState s) {
    int i = find(offset);
    if (s == null) {
      if (i >= 0) {
        System.arraycopy(offsets, i + 1, offsets, i, count - i - 1);
        System.arraycopy(longs, 2 * i + 2, longs, 2 * i, 2 * (count - i - 1));
        System.arraycopy(ints, 3 * i + 3, ints, 3 * i, 3 * (count - i - 1));
        count--;
      }
      return;
    }
    if (i >= 0) {
      set(i, offset, s);
      return;
    }
    i = -i - 1;
    if (count == offsets.length) {
      int capacity = 2 * count;
      offsets = Arrays.copyOf(offsets, capacity);
      longs = Arrays.copyOf(longs, 2 * capacity);
      ints = Arrays.copyOf(ints, 3 * capacity);
      long bytes = OVERHEAD + (long) capacity * ENTRY_BYTES;
      owner.cache().resized(bytes - countedBytes); // only while in the table: see RecordTable.put
      countedBytes = bytes;
    }
    System.arraycopy(offsets, i, offsets, i + 1, count - i);
    System.arraycopy(longs, 2 * i, longs, 2 * i + 2, 2 * (count - i));
    System.arraycopy(ints, 3 * i, ints, 3 * i + 3, 3 * (count - i));
    count++;
    set(i, offset, s);
  }

  /** Returns the keys and states of every record in the page, for the checker. */
  synchronized void forEach(java.util.function.BiConsumer<RecordKey, RecordState> action) {
    for (int i = 0; i < count; i++) {
      action.accept(new RecordKey(key.segment(), base + offsets[i]), stateAt(i));
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
