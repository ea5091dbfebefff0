package io.vstore.blockstore.store;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Record headers recently parsed, so that a random read of a record seen before reads and checks
 * only its data. Records never change once written, so an entry never goes stale; it only has to
 * go when its segment is deleted (a new segment never reuses an id). Bounded crudely: full, it is
 * emptied, and hot headers come back on their next read.
 */
final class RecordHeaderCache {
  private static final int ENTRIES = 1 << 16;
  private final Map<RecordKey, RecordHeader> headers = new ConcurrentHashMap<>();

  /** Returns the cached header of the record at {@code key}, or null. */
  RecordHeader get(RecordKey key) {
    return headers.get(key);
  }

  /** Caches the header of the record at {@code key}. */
  void put(RecordKey key, RecordHeader header) {
    if (headers.size() >= ENTRIES) {
      headers.clear();
    }
    headers.put(key, header);
  }

  /** Forgets the headers of segment {@code id}'s records. */
  void forgetSegment(long id) {
    headers.keySet().removeIf(k -> k.segment() == id);
  }

  /** Returns the number of headers cached. */
  int size() {
    return headers.size();
  }
}
