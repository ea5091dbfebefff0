package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

/**
 * What each segment holds that is still needed, shared by the volumes and the cleaner: the live
 * bytes of its records (committed with every flush) and the records appended but not yet entered
 * in a map. Appends go through here, admitted against the capacity, so that the cleaner never
 * deletes a segment a record is on its way into.
 *
 * <p>Thread-safe: volumes change the figures of their own records in parallel.
 */
final class SegmentUsage {
  /** Makes room by cleaning every segment with dead space; runs when a user append does not fit. */
  @FunctionalInterface
  interface Reclaimer {
    /** Reclaims what dead space it can. */
    void reclaimForSpace() throws IOException;
  }

  private final SegmentFiles segments;
  private final Capacity capacity;
  private final Reclaimer reclaimer;
  private final Map<Long, AtomicLong> live = new ConcurrentHashMap<>();
  /**
   * Records appended and not yet published (entered in a map with their state), by segment: a
   * write appends before it takes the volume's lock to remap, and flatten appends a whole volume
   * before installing it. The cleaner must not delete a segment such a record is in.
   */
  private final Map<Long, AtomicInteger> unpublished = new ConcurrentHashMap<>();

  /** Creates the usage of {@code segments}, admitting appends against {@code capacity}. */
  SegmentUsage(SegmentFiles segments, Capacity capacity, Reclaimer reclaimer) {
    this.segments = segments;
    this.capacity = capacity;
    this.reclaimer = reclaimer;
  }

  /** Loads the committed live bytes of every segment from the catalog. */
  void load(MetaStore meta) {
    try (RocksIterator it = meta.iterator(meta.catalog)) {
      for (it.seek(Keys.catalogPrefix('s')); it.isValid() && it.key()[0] == 's'; it.next()) {
        live.put(Keys.catalogId(it.key()), new AtomicLong(Keys.catalogLong(it.value())));
      }
    }
  }

  /**
   * Appends a user write's record to the segments, reclaiming dead space when full; the record
   * counts as unpublished until {@link #published} says otherwise.
   */
  RecordKey append(ByteBuffer record) throws IOException {
    int bytes = record.remaining();
    if (!capacity.fits(bytes, false)) {
      reclaimer.reclaimForSpace();
      if (!capacity.fits(bytes, false)) {
        throw capacity.full(bytes);
      }
    }
    RecordKey key = segments.append(record, RecordHeader.storedDataStart(record));
    unpublished.computeIfAbsent(key.segment(), id -> new AtomicInteger()).incrementAndGet();
    capacity.evaluateIfMoved();
    return key;
  }

  /** Appends a record the cleaner moves, which may use the reserve kept back from users. */
  RecordKey appendForCleaner(ByteBuffer record) throws IOException {
    if (!capacity.fits(record.remaining(), true)) {
      throw capacity.full(record.remaining());
    }
    return segments.append(record, RecordHeader.storedDataStart(record));
  }

  /**
   * Marks the records of {@code entries} (from {@link #append}) published: entered in a map, or
   * abandoned after a failure. Called after the map change, so that the cleaner, which reads the
   * unpublished count before the live bytes, sees one or the other.
   */
  void published(List<MapEntry> entries) {
    for (MapEntry e : entries) {
      if (e.record() != null) {
        unpublished.get(e.record().segment()).decrementAndGet();
      }
    }
  }

  /**
   * Returns whether segment {@code id} may be deleted: no record in it is on its way into a map,
   * and no live record is left in it.
   */
  boolean unused(long id) {
    AtomicInteger pending = unpublished.get(id);
    if (pending != null && pending.get() > 0) {
      return false;
    }
    AtomicLong l = live.get(id);
    return l == null || l.get() == 0;
  }

  /** Adds {@code delta} to the live bytes of segment {@code segment}. */
  void addLive(long segment, long delta) {
    live.computeIfAbsent(segment, s -> new AtomicLong()).addAndGet(delta);
  }

  /** Returns the live bytes of segment {@code id}. */
  long live(long id) {
    AtomicLong l = live.get(id);
    return l == null ? 0 : l.get();
  }

  /** Returns the live bytes of every segment. */
  long totalLive() {
    long sum = 0;
    for (AtomicLong l : live.values()) {
      sum += l.get();
    }
    return sum;
  }

  /** Returns a copy of the live bytes by segment, for the checker. */
  Map<Long, Long> liveBySegment() {
    Map<Long, Long> out = new TreeMap<>();
    live.forEach((id, l) -> out.put(id, l.get()));
    return out;
  }

  /** Forgets deleted segment {@code id}; the caller stages the removal of its catalog entry. */
  void forget(long id) {
    live.remove(id);
    unpublished.remove(id);
  }

  /** Adds every segment's live bytes to {@code batch}. */
  void writeTo(WriteBatch batch, MetaStore meta) throws RocksDBException {
    for (Map.Entry<Long, AtomicLong> e : live.entrySet()) {
      batch.put(meta.catalog, Keys.catalog('s', e.getKey()), Keys.catalogLong(e.getValue().get()));
    }
  }

  /** Returns the sealer of new records, or null when the datastore is not encrypted. */
  io.vstore.blockstore.crypto.RecordSealer sealer() {
    return segments.sealer();
  }
}
