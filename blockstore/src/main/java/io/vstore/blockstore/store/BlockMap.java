package io.vstore.blockstore.store;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

/**
 * One block map (a volume's head, a snapshot's delta, a clone's base): non-overlapping extents,
 * keyed by their <em>end</em> block, so that the entries overlapping {@code [from, to)} are those
 * from the first key above {@code from} on, found with one forward lookup. RocksDB holds one row
 * per entry in that order (its durable copy, written at each flush with the changes since the
 * previous one).
 *
 * <p>Memory is bounded, not proportional to the entries: lookups go to {@link MapPage}s, the
 * entries of 2 MiB of the block space each, loaded on demand and evicted under the datastore's
 * {@link MetadataCache} budget. Beside the pages the map keeps the <em>overlay</em>: every change
 * not yet known to be committed (an entry or a tombstone, by end block). A page is loaded from
 * RocksDB with the overlay laid over it, and changes are applied to the overlay and to the page if
 * it is loaded, so an evicted page loses nothing. The overlay is bounded by the flush threshold:
 * a flush stages its pending changes, and once their batch is committed they are purged.
 *
 * <p>Not thread-safe: the owning volume's lock guards it (shared for lookups and loading pages,
 * exclusive for changes, staging and purging); the cache evicts pages from any thread, which the
 * page table's concurrency allows.
 */
final class BlockMap {
  /** Entries read at a time by {@link #forEach}, so a scan holds a bounded list. */
  private static final int SCAN_BATCH = 4096;
  /** Above this many pages a lookup streams the rows instead of loading the pages. */
  private static final int MAX_PAGES_PER_LOOKUP = 16;

  /** A change not yet known to be committed: the new entry, or null when the key's entry is gone. */
  private static final class Change {
    final long end;
    final MapEntry entry;
    /** The flush that staged it, or null while pending; set under the volume's exclusive lock. */
    CommitPipeline.Stage stage;
    /** Set when a newer change of the same key replaced it before it was staged. */
    boolean superseded;

    Change(long end, MapEntry entry) {
      this.end = end;
      this.entry = entry;
    }
  }

  private final long id;
  private final MetaStore meta;
  private final ConcurrentHashMap<Long, MapPage> pages = new ConcurrentHashMap<>();
  /** Changes not yet committed and purged, by end block. */
  private final TreeMap<Long, Change> overlay = new TreeMap<>();
  /** Changes not yet staged, in the order made (superseded ones included): what a flush writes. */
  private List<Change> pending = new ArrayList<>();
  /** Changes staged and not yet purged, in the order staged: what purging looks at. */
  private final java.util.ArrayDeque<Change> staged = new java.util.ArrayDeque<>();
  /** The number of keys with a change not yet staged. */
  private int pendingKeys;
  /** Set once the map is deleted: it loads no more pages for the warmer (a lookup cannot reach it). */
  private boolean discarded;

  /** Creates map {@code id}, paged from {@code meta} through its cache. */
  BlockMap(long id, MetaStore meta) {
    this.id = id;
    this.meta = meta;
  }

  /** Returns the map's id: the first half of its keys. */
  long id() {
    return id;
  }

  /** Returns the cache this map's pages count against. */
  MetadataCache cache() {
    return meta.cache();
  }

  // ---- lookups ----

  /** Returns the entries that intersect blocks {@code [from, to)}, in order. */
  List<MapEntry> overlapping(long from, long to) {
    List<MapEntry> out = new ArrayList<>();
    if (from >= to) {
      return out;
    }
    long first = from >>> MapPage.SHIFT;
    long last = MapPage.indexOfEnd(to);
    List<MapPage> found = last - first < MAX_PAGES_PER_LOOKUP ? pages(first, last) : null;
    if (found == null) {
      // Many pages, or pages the full cache does not take now: the rows themselves, with the
      // overlay laid over them, answer the same in one seek.
      try (Cursor c = new Cursor(from)) {
        for (MapEntry e = c.next(); e != null && e.start() < to; e = c.next()) {
          out.add(e);
        }
      }
      return out;
    }
    for (MapPage page : found) {
      page.collect(from, to, out);
    }
    MapEntry spanner = found.getLast().spanner();
    if (spanner != null && spanner.start() < to) {
      out.add(spanner);
    }
    return out;
  }

  /**
   * Returns pages {@code first} to {@code last}, loading those not in memory, or null when one is
   * missing and the cache does not admit it now (see {@link MetadataCache#admits}).
   */
  private List<MapPage> pages(long first, long last) {
    List<MapPage> out = new ArrayList<>((int) (last - first + 1));
    for (long p = first; p <= last; p++) {
      MapPage page = pages.get(p);
      if (page == null) {
        if (!meta.cache().admits()) {
          return null;
        }
        page = page(p);
      }
      out.add(page);
    }
    return out;
  }

  /**
   * Returns at most {@code max} entries ending after block {@code afterEnd}, in order, read past
   * the pages: for scans of a whole map, which should not flood the cache. An empty list ends the scan.
   */
  List<MapEntry> entriesAfter(long afterEnd, int max) {
    List<MapEntry> out = new ArrayList<>();
    try (Cursor c = new Cursor(afterEnd)) {
      for (MapEntry e = c.next(); e != null && out.size() < max; e = c.next()) {
        out.add(e);
      }
    }
    return out;
  }

  /** What a whole-map scan does with each entry. */
  @FunctionalInterface
  interface EntryAction {
    /** Handles entry {@code e}. */
    void accept(MapEntry e) throws IOException;
  }

  /**
   * Calls {@code action} with every entry, in order, read in batches past the pages (see
   * {@link #entriesAfter}); the action may change this map at and before the entry it is given.
   */
  void forEach(EntryAction action) throws IOException {
    for (List<MapEntry> batch = entriesAfter(0, SCAN_BATCH); !batch.isEmpty();
        batch = entriesAfter(batch.getLast().end(), SCAN_BATCH)) {
      for (MapEntry e : batch) {
        action.accept(e);
      }
    }
  }

  /** Returns the entry ending at block {@code end}, or null. */
  MapEntry entryEnding(long end) {
    return page(MapPage.indexOfEnd(end)).entryEnding(end);
  }

  /** Returns the number of entries (a scan of the whole map). */
  long size() {
    long n = 0;
    try (Cursor c = new Cursor(0)) {
      for (MapEntry e = c.next(); e != null; e = c.next()) {
        n++;
      }
    }
    return n;
  }

  /** Returns the pages in memory now, for the checker. */
  List<MapPage> cachedPages() {
    return new ArrayList<>(pages.values());
  }

  private MapPage page(long index) {
    MapPage page = pages.get(index);
    if (page != null) {
      return page;
    }
    page = load(index);
    MapPage prior = pages.putIfAbsent(index, page);
    if (prior != null) {
      return prior; // another reader loaded it meanwhile: the same content
    }
    meta.cache().added(page);
    return page;
  }

  private MapPage load(long index) {
    try (Cursor c = new Cursor(index << MapPage.SHIFT, false)) {
      return load(index, c);
    }
  }

  /**
   * Builds page {@code index} from {@code c}, whose next entry is the page's first one ending after
   * the page's start; leaves the first entry past the page to be read next.
   */
  private MapPage load(long index, Cursor c) {
    long limit = MapPage.limitOf(index);
    List<MapEntry> entries = new ArrayList<>();
    MapEntry spanner = null;
    for (MapEntry e = c.next(); e != null; e = c.next()) {
      if (e.end() <= limit) {
        entries.add(e);
      } else {
        spanner = e.start() < limit ? e : null;
        c.unread(e);
        break;
      }
    }
    return new MapPage(this, index, entries, spanner);
  }

  /**
   * Loads the first {@code count} pages at or after page {@code index} that hold an entry, those
   * not in memory already, reading the rows with one cursor, and adds the pages it went through to
   * {@code visited}; returns the page to go on from, or -1
   * when no entry ends after the last page's start or the map was discarded. For
   * {@link MetadataWarmer}: the caller holds the volume's lock (shared), as for any page load, so
   * the rows and the overlay it reads agree.
   */
  long warmFrom(long index, int count, java.util.concurrent.atomic.LongAdder visited) {
    if (discarded) {
      return -1;
    }
    // One cursor for all: a seek and an iterator per page cost as much as a tenth of its rows.
    try (Cursor c = new Cursor(index << MapPage.SHIFT, true)) {
      long next = index;
      for (int i = 0; i < count; i++) {
        MapEntry first = c.next();
        if (first == null) {
          return -1;
        }
        c.unread(first);
        long p = MapPage.indexOfEnd(first.end());
        if (pages.containsKey(p)) {
          long limit = MapPage.limitOf(p);
          MapEntry e = c.next();
          while (e != null && e.end() <= limit) {
            e = c.next();
          }
          if (e != null) {
            c.unread(e);
          }
        } else {
          MapPage page = load(p, c);
          if (pages.putIfAbsent(p, page) == null) {
            meta.cache().added(page);
          }
        }
        visited.increment();
        next = p + 1;
      }
      return next;
    }
  }

  /** Removes {@code page} from the page table if it is still there; called by the cache. */
  boolean evict(MapPage page) {
    return pages.remove(page.index, page);
  }

  /**
   * The entries ending after a given block, in order: the RocksDB rows with the overlay laid over
   * them. The caller holds the volume's lock, so the overlay does not change meanwhile; a commit
   * may land meanwhile, which is harmless: what it commits is in the overlay until purged, and
   * purging takes the exclusive lock.
   */
  private final class Cursor implements AutoCloseable {
    private final RocksIterator rows;
    private final java.util.Iterator<Map.Entry<Long, Change>> changes;
    private Map.Entry<Long, Change> change;
    /** An entry handed back by {@link #unread}, returned again by the next {@link #next}. */
    private MapEntry unread;

    Cursor(long afterEnd) {
      this(afterEnd, false);
    }

    /** Opens a cursor; a {@code scan} (the warmer's) leaves RocksDB's block cache to the lookups. */
    Cursor(long afterEnd, boolean scan) {
      rows = scan ? meta.scanIterator(meta.maps) : meta.iterator(meta.maps);
      rows.seek(Keys.pair(id, afterEnd + 1));
      changes = overlay.tailMap(afterEnd, false).entrySet().iterator();
      change = changes.hasNext() ? changes.next() : null;
    }

    /** Hands back {@code e}, the entry the last {@link #next} returned, to be returned again. */
    void unread(MapEntry e) {
      assert unread == null : "one entry at a time";
      unread = e;
    }

    /** Returns the next entry, or null at the end of the map. */
    MapEntry next() {
      if (unread != null) {
        MapEntry e = unread;
        unread = null;
        return e;
      }
      while (true) {
        long row = Long.MAX_VALUE;
        if (rows.isValid()) {
          byte[] key = rows.key(); // one call into RocksDB a row: page loads are row-bound
          if (Keys.first(key) == id) {
            row = Keys.second(key);
          }
        }
        long changed = change == null ? Long.MAX_VALUE : change.getKey();
        if (row == Long.MAX_VALUE && changed == Long.MAX_VALUE) {
          return null;
        }
        if (changed <= row) {
          MapEntry e = change.getValue().entry;
          change = changes.hasNext() ? changes.next() : null;
          if (changed == row) {
            rows.next(); // the change replaces the committed row
          }
          if (e != null) {
            return e;
          }
        } else {
          MapEntry e = MapEntry.decodeEnding(row, rows.value());
          rows.next();
          return e;
        }
      }
    }

    @Override
    public void close() {
      rows.close();
    }
  }

  // ---- changes: under the volume's exclusive lock ----

  /** Adds {@code e}; the caller has removed whatever it overlaps. */
  void put(MapEntry e) {
    record(new Change(e.end(), e));
    MapPage own = pages.get(MapPage.indexOfEnd(e.end()));
    if (own != null) {
      own.put(e);
    }
    for (MapPage p : spannedPages(e)) {
      p.spanner(e);
    }
  }

  /** Removes entry {@code e}. */
  void remove(MapEntry e) {
    record(new Change(e.end(), null));
    MapPage own = pages.get(MapPage.indexOfEnd(e.end()));
    if (own != null) {
      own.remove(e.end());
    }
    for (MapPage p : spannedPages(e)) {
      MapEntry s = p.spanner();
      if (s != null && s.end() == e.end()) {
        p.spanner(null);
      }
    }
  }

  private void record(Change c) {
    Change prior = overlay.put(c.end, c);
    if (prior == null || prior.stage != null) {
      pendingKeys++;
    } else {
      prior.superseded = true;
    }
    pending.add(c);
  }

  /** Returns the loaded pages whose spanner {@code e} is: those it crosses the end of. */
  private List<MapPage> spannedPages(MapEntry e) {
    long first = e.start() >>> MapPage.SHIFT;
    long end = MapPage.indexOfEnd(e.end()); // exclusive: e ends in that page
    List<MapPage> out = new ArrayList<>(2);
    if (end - first <= 64) {
      for (long p = first; p < end; p++) {
        MapPage page = pages.get(p);
        if (page != null) {
          out.add(page);
        }
      }
    } else {
      for (MapPage page : pages.values()) {
        if (page.index >= first && page.index < end) {
          out.add(page);
        }
      }
    }
    return out;
  }

  // ---- flush ----

  /** Returns the number of changes waiting for the next flush. */
  int pendingChanges() {
    return pendingKeys;
  }

  /** Adds the pending changes to {@code batch}. */
  void writeTo(WriteBatch batch) throws IOException {
    try {
      for (Change c : pending) {
        if (c.superseded) {
          continue;
        }
        byte[] key = Keys.pair(id, c.end);
        if (c.entry == null) {
          batch.delete(meta.maps, key);
        } else {
          batch.put(meta.maps, key, c.entry.encodeValue());
        }
      }
    } catch (RocksDBException ex) {
      throw new IOException("cannot stage changes of map " + id + ": " + ex.getMessage(), ex);
    }
  }

  /** Marks the pending changes as staged in {@code stage}'s batch. */
  void staged(CommitPipeline.Stage stage) {
    for (Change c : pending) {
      if (!c.superseded) {
        c.stage = stage;
        staged.add(c);
      }
    }
    pending = new ArrayList<>(); // not clear(): a large backing array would stay for good
    pendingKeys = 0;
  }

  /** Drops the changes whose batch is committed: RocksDB answers for them now. */
  void purgeCommitted() {
    // Staged in commit order, so the committed ones come first.
    for (Change c = staged.peek(); c != null && c.stage.isCommitted(); c = staged.peek()) {
      staged.poll();
      overlay.remove(c.end, c); // unless a newer change of the key replaced it
    }
  }

  /** Returns the number of changes not yet committed and purged. */
  int overlaySize() {
    return overlay.size();
  }

  /** Forgets the whole map: it is being deleted (its rows are deleted by the caller's batch). */
  void discard() {
    discarded = true;
    for (MapPage p : pages.values()) {
      if (pages.remove(p.index, p) && p.detach()) {
        meta.cache().dropped(p);
      }
    }
    overlay.clear();
    pending = new ArrayList<>();
    staged.clear();
    pendingKeys = 0;
  }
}
