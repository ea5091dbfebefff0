package io.vstore.blockstore.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.rocksdb.RocksIterator;

/**
 * The reference states of every live record of a datastore: RocksDB holds them (keyed by segment
 * and offset); {@link RecordPage}s of 1 MiB of a segment each are loaded on demand and evicted
 * under the {@link MetadataCache} budget. Beside the pages the table keeps the <em>overlay</em>:
 * every state change not yet known to be committed. A page is loaded with the overlay laid over
 * its rows, and changes go to the overlay first and then to the page if it is loaded, so an
 * evicted page loses nothing.
 *
 * <p>Thread-safe: volumes change the states of their own records under their own locks, in
 * parallel, and records of several volumes share pages. A page is loaded inside the page table's
 * {@code computeIfAbsent} and changed inside its {@code computeIfPresent}, so a change made while
 * its page loads waits for the load and is then applied to the page; the load reads the overlay
 * before the rows, so a change purged meanwhile (purging follows the commit) is in the rows.
 */
final class RecordTable {
  /** Which page: a segment and the index of its 1 MiB. */
  record PageKey(long segment, long index) {}

  /** A state change not yet known to be committed: the new state, or null when the record died. */
  static final class Change {
    final RecordKey key;
    final RecordState state;
    /** The flush that staged it, or null while pending. */
    volatile CommitPipeline.Stage stage;

    Change(RecordKey key, RecordState state) {
      this.key = key;
      this.state = state;
    }
  }

  private final MetaStore meta;
  private final ConcurrentHashMap<PageKey, RecordPage> pages = new ConcurrentHashMap<>();
  private final ConcurrentSkipListMap<RecordKey, Change> overlay = new ConcurrentSkipListMap<>();
  /** Changes staged and not yet purged, in the order staged (commit order). */
  private final java.util.concurrent.ConcurrentLinkedQueue<Change> staged = new java.util.concurrent.ConcurrentLinkedQueue<>();

  RecordTable(MetaStore meta) {
    this.meta = meta;
  }

  /** Returns the cache the pages count against. */
  MetadataCache cache() {
    return meta.cache();
  }

  private static PageKey pageOf(RecordKey key) {
    return new PageKey(key.segment(), key.offset() >>> RecordPage.SHIFT);
  }

  /** Returns the state of {@code key}, or null when the record is unknown or dead. */
  RecordState get(RecordKey key) {
    PageKey pk = pageOf(key);
    RecordPage page = pages.get(pk);
    if (page == null && !meta.cache().admits()) {
      return pointRead(key);
    }
    return (page != null ? page : page(pk)).get(key.offset());
  }

  /**
   * Reads the state of {@code key} from the overlay or the row, without loading its page; the
   * overlay first, as a page load does (see the class comment): a change purged meanwhile is in the row.
   */
  private RecordState pointRead(RecordKey key) {
    Change c = overlay.get(key);
    if (c != null) {
      return c.state;
    }
    try {
      byte[] v = meta.get(meta.records, key.key());
      return v == null ? null : RecordState.decode(v);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Sets the state of {@code key}, a state with no live blocks removing it, and returns the change. */
  Change put(RecordKey key, RecordState state) {
    RecordState s = state.liveBlocks() == 0 ? null : state;
    Change c = new Change(key, s);
    overlay.put(key, c);
    pages.computeIfPresent(pageOf(key), (k, page) -> {
      page.put(key.offset(), s);
      return page;
    });
    return c;
  }

  /** Marks change {@code c} staged in {@code stage}'s batch. */
  void staged(Change c, CommitPipeline.Stage stage) {
    c.stage = stage;
    staged.add(c);
  }

  /** Drops the changes whose batch is committed: RocksDB answers for them now. */
  void purgeCommitted() {
    // Concurrent purges may each take a change; both only remove committed ones.
    for (Change c = staged.peek(); c != null && c.stage.isCommitted(); c = staged.peek()) {
      if (staged.remove(c)) {
        overlay.remove(c.key, c); // unless a newer change of the key replaced it
      }
    }
  }

  /** Returns the number of changes not yet committed and purged. */
  int overlaySize() {
    return overlay.size();
  }

  /** Calls {@code action} with every state held in a page in memory, for the checker. */
  void forEachCached(java.util.function.BiConsumer<RecordKey, RecordState> action) {
    for (RecordPage p : pages.values()) {
      p.forEach(action);
    }
  }

  /**
   * Loads the first page at or after {@code from} that holds a committed state, unless it is in
   * memory already; returns where to go on from, or null at the end of the table. For
   * {@link MetadataWarmer}: the load is the same as a lookup's, so it is safe beside any change.
   */
  RecordKey warmFrom(RecordKey from) {
    PageKey pk;
    try (RocksIterator it = meta.scanIterator(meta.records)) {
      it.seek(from.key());
      if (!it.isValid()) {
        return null;
      }
      byte[] k = it.key();
      pk = new PageKey(Keys.first(k), Keys.second(k) >>> RecordPage.SHIFT);
    }
    page(pk, true);
    return new RecordKey(pk.segment(), (pk.index() + 1) << RecordPage.SHIFT);
  }

  private RecordPage page(PageKey key) {
    return page(key, false);
  }

  /** Returns page {@code key}, loading it if it is not in memory; a {@code scan} (the warmer's) leaves RocksDB's block cache alone. */
  private RecordPage page(PageKey key, boolean scan) {
    RecordPage page = pages.get(key);
    if (page != null) {
      return page;
    }
    boolean[] loaded = {false};
    page = pages.computeIfAbsent(key, k -> {
      loaded[0] = true;
      return load(k, scan);
    });
    if (loaded[0]) {
      meta.cache().added(page);
    }
    return page;
  }

  private RecordPage load(PageKey key, boolean scan) {
    long from = key.index() << RecordPage.SHIFT;
    long to = from + (1L << RecordPage.SHIFT);
    // The overlay first: see the class comment.
    Map<RecordKey, Change> changes = new java.util.TreeMap<>();
    // One entry at a time: a bulk copy trusts a size that concurrent purges change.
    for (Map.Entry<RecordKey, Change> e
        : overlay.subMap(new RecordKey(key.segment(), from), new RecordKey(key.segment(), to)).entrySet()) {
      changes.put(e.getKey(), e.getValue());
    }
    List<RecordKey> keys = new ArrayList<>();
    List<RecordState> states = new ArrayList<>();
    java.util.Iterator<Map.Entry<RecordKey, Change>> ci = changes.entrySet().iterator();
    Map.Entry<RecordKey, Change> c = ci.hasNext() ? ci.next() : null;
    // The iterator only now, after the overlay was read: see the class comment.
    try (RocksIterator it = scan ? meta.scanIterator(meta.records) : meta.iterator(meta.records)) {
      it.seek(Keys.pair(key.segment(), from));
      while (true) {
        long row = Long.MAX_VALUE;
        if (it.isValid()) {
          byte[] k = it.key();
          long offset = Keys.second(k);
          if (Keys.first(k) == key.segment() && offset < to) {
            row = offset;
          }
        }
        long changed = c == null ? Long.MAX_VALUE : c.getKey().offset();
        if (row == Long.MAX_VALUE && changed == Long.MAX_VALUE) {
          break;
        }
        if (changed <= row) {
          RecordState s = c.getValue().state;
          if (s != null) {
            keys.add(c.getKey());
            states.add(s);
          }
          if (changed == row) {
            it.next();
          }
          c = ci.hasNext() ? ci.next() : null;
        } else {
          keys.add(new RecordKey(key.segment(), row));
          states.add(RecordState.decode(it.value()));
          it.next();
        }
      }
    }
    return new RecordPage(this, key, keys, states);
  }

  /** Removes {@code page} from the page table if it is still there; called by the cache. */
  boolean evict(RecordPage page) {
    return pages.remove(page.key, page);
  }
}
