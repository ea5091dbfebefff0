package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;

/**
 * Verifies the committed state of a datastore (after a flush, with the commit lock held):
 * map entries are ordered, inside their volume and point at records that exist, belong to the
 * volume and hold those blocks; every record's header and chunk checksums verify; records' live
 * counts, segments' live bytes and volumes' counters equal what the maps imply; no record is
 * unreferenced or referenced twice. Reports; changes nothing.
 */
final class DatastoreChecker {
  private static final int MAX_PROBLEMS = 1000;
  private final StoreParts store;
  private final MetaStore meta;
  private final SegmentFiles segments;
  private final List<String> problems = new ArrayList<>();
  private final Map<RecordKey, long[]> referenced = new HashMap<>(); // {blocks, volume id}
  private long entries;

  /** Creates a checker of the datastore made of {@code store}; the caller holds the commit lock exclusively. */
  DatastoreChecker(StoreParts store) {
    this.store = store;
    this.meta = store.meta();
    this.segments = store.segments();
  }

  private void problem(String p) {
    if (problems.size() < MAX_PROBLEMS) {
      problems.add(p);
    } else if (problems.size() == MAX_PROBLEMS) {
      problems.add("(further problems not listed)");
    }
  }

  /** A map to check: whose it is, what it is called in reports, the newest birth it may hold. */
  private record MapUnderCheck(VolumeState owner, String label, long maxGeneration, boolean head, BlockMap map) {}

  /** Reports a committed entry that the map's pages, which every read uses, do not hold alike. */
  private void compareWithMemory(MapUnderCheck m, long end, byte[] value) {
    MapEntry memory;
    m.owner().lock.readLock().lock();
    try {
      memory = m.map().entryEnding(end);
    } finally {
      m.owner().lock.readLock().unlock();
    }
    MapEntry rocks;
    try {
      rocks = MapEntry.decodeEnding(end, value);
    } catch (IllegalStateException e) {
      return; // checkEntry reports it
    }
    if (!rocks.equals(memory)) {
      problem(m.label() + " entry ending at block " + end + " is " + rocks + " in the metadata store but " + memory
          + " in memory");
    }
  }

  /** Checks everything, after a flush with the commit lock still held exclusively, and reports. */
  CheckReport run() throws IOException {
    List<VolumeState> volumes = store.volumes().list();
    Map<Long, long[]> volumeTotals = new HashMap<>(); // id -> {mapped blocks, allocated bytes}
    Map<Long, MapUnderCheck> maps = new HashMap<>();
    for (VolumeState v : volumes) {
      volumeTotals.put(v.id, new long[] {0, 0});
      maps.put(v.id, new MapUnderCheck(v, "volume " + v.name, v.committedGeneration(), true, v.head()));
      for (SnapshotState snap : v.snapshots()) {
        maps.put(snap.record.id(), new MapUnderCheck(v, "snapshot " + v.name + "@" + snap.name(), snap.generation(), false,
            snap.delta));
      }
      BlockMap base = v.base();
      if (base != null) {
        maps.put(base.id(), new MapUnderCheck(v, "base of volume " + v.name, 0, false, base));
      }
    }
    Map<Long, Integer> inRocks = new HashMap<>();
    try (RocksIterator it = meta.iterator(meta.maps)) {
      long current = -1;
      long previousEnd = 0;
      for (it.seekToFirst(); it.isValid(); it.next()) {
        long mapId = Keys.first(it.key());
        MapUnderCheck m = maps.get(mapId);
        if (m == null) {
          problem("map entry ending at block " + Keys.second(it.key()) + " belongs to map id " + mapId
              + " which no volume or snapshot owns");
          continue;
        }
        if (mapId != current) {
          current = mapId;
          previousEnd = 0;
        }
        previousEnd = checkEntry(m, Keys.second(it.key()), it.value(), previousEnd, volumeTotals.get(m.owner().id));
        inRocks.merge(mapId, 1, Integer::sum);
        compareWithMemory(m, Keys.second(it.key()), it.value());
      }
    }
    for (MapUnderCheck m : maps.values()) {
      m.owner().lock.readLock().lock();
      try {
        long memory = m.map().size();
        int rocks = inRocks.getOrDefault(m.map().id(), 0);
        if (memory != rocks) {
          problem(m.label() + " holds " + memory + " entries with its uncommitted changes but " + rocks
              + " in the metadata store");
        }
        for (MapPage page : m.map().cachedPages()) {
          for (MapEntry e : page.entries()) {
            byte[] v = meta.get(meta.maps, Keys.pair(m.map().id(), e.end()));
            if (v == null) {
              problem(m.label() + " holds " + e + " in memory but not in the metadata store");
            }
          }
        }
      } finally {
        m.owner().lock.readLock().unlock();
      }
    }
    try (RocksIterator it = meta.iterator(meta.changes)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        VolumeState v = store.volumes().byId(Keys.first(it.key()));
        if (v == null) {
          problem("change log entry of generation " + Keys.second(it.key()) + " belongs to missing volume id "
              + Keys.first(it.key()));
        } else if (Keys.second(it.key()) > v.committedGeneration()) {
          problem("change log of volume " + v.name + " has generation " + Keys.second(it.key()) + ", beyond the committed "
              + v.committedGeneration());
        }
      }
    }
    new ChangeLogChecker(store, this::problem).run();
    TreeMap<Long, Long> sizes = segments.sizes();
    Map<Long, Long> liveBySegment = new HashMap<>();
    long records = 0;
    long verified = 0;
    try (RocksIterator it = meta.iterator(meta.records)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        records++;
        RecordKey key = new RecordKey(Keys.first(it.key()), Keys.second(it.key()));
        RecordState state = RecordState.decode(it.value());
        if (!state.equals(store.records().get(key))) {
          problem(key + " has state " + state + " in the metadata store but " + store.records().get(key) + " in memory");
        }
        long[] ref = referenced.remove(key);
        long refBlocks = ref == null ? 0 : ref[0];
        if (refBlocks != state.liveBlocks()) {
          problem(key + " of volume id " + state.volume() + " counts " + state.liveBlocks()
              + " live blocks but the map references " + refBlocks);
        }
        if (ref != null && ref[1] != state.volume()) {
          problem(key + " belongs to volume id " + state.volume() + " but is referenced by volume id " + ref[1]);
        }
        if (!sizes.containsKey(key.segment())) {
          problem(key + " is in segment " + key.segment() + " which does not exist");
          continue;
        }
        if (key.offset() + state.storedBytes() > sizes.get(key.segment())) {
          problem(key + " (" + state.storedBytes() + " bytes) extends past the end of segment " + key.segment());
          continue;
        }
        verified += verifyRecord(key, state);
        liveBySegment.merge(key.segment(), (long) state.storedBytes(), Long::sum);
        long[] totals = volumeTotals.get(state.volume());
        if (totals == null) {
          problem(key + " belongs to volume id " + state.volume() + " which does not exist");
        } else {
          totals[1] += state.storedBytes();
        }
      }
    }
    checkCachedRecords();
    for (Map.Entry<RecordKey, long[]> missing : referenced.entrySet()) {
      problem("volume id " + missing.getValue()[1] + " references " + missing.getKey() + " which has no record state");
    }
    for (VolumeState v : volumes) {
      long[] totals = volumeTotals.get(v.id);
      if (totals[0] != v.mappedBlocks()) {
        problem("volume " + v.name + " counts " + v.mappedBlocks() + " mapped blocks, its map has " + totals[0]);
      }
      if (totals[1] != v.allocatedBytes()) {
        problem("volume " + v.name + " counts " + v.allocatedBytes() + " allocated bytes, its records hold " + totals[1]);
      }
    }
    Map<Long, Long> counted = store.usage().liveBySegment();
    for (Map.Entry<Long, Long> e : counted.entrySet()) {
      long expected = liveBySegment.getOrDefault(e.getKey(), 0L);
      if (e.getValue() != expected) {
        problem("segment " + e.getKey() + " counts " + e.getValue() + " live bytes, its records hold " + expected);
      }
    }
    for (Map.Entry<Long, Long> e : liveBySegment.entrySet()) {
      if (!counted.containsKey(e.getKey())) {
        problem("segment " + e.getKey() + " holds " + e.getValue() + " live bytes but has no statistics");
      }
    }
    for (long id : sizes.keySet()) {
      try {
        segments.checkHeader(id);
      } catch (IOException e) {
        problem(e.getMessage());
      }
    }
    return new CheckReport(volumes.size(), entries, records, sizes.size(), verified, problems);
  }

  /** Reports record states held in memory that the metadata store does not hold alike. */
  private void checkCachedRecords() throws IOException {
    List<String> found = new java.util.ArrayList<>();
    store.records().forEachCached((key, state) -> {
      try {
        byte[] v = meta.get(meta.records, key.key());
        RecordState rocks = v == null ? null : RecordState.decode(v);
        if (!state.equals(rocks)) {
          found.add(key + " has state " + state + " in memory but " + rocks + " in the metadata store");
        }
      } catch (IOException e) {
        found.add(e.getMessage());
      }
    });
    found.forEach(this::problem);
  }

  /** Checks one committed map entry and returns the end of the map's covered blocks so far. */
  private long checkEntry(MapUnderCheck m, long end, byte[] value, long previousEnd, long[] totals) throws IOException {
    entries++;
    MapEntry e;
    try {
      e = MapEntry.decodeEnding(end, value);
    } catch (IllegalStateException ex) {
      problem(m.label() + ": " + ex.getMessage());
      return previousEnd;
    }
    long start = e.start();
    VolumeState v = m.owner();
    if (e.length() <= 0 || start < previousEnd || e.end() > v.blocks) {
      problem(m.label() + " map entry at block " + start + " (length " + e.length()
          + ") overlaps the previous entry (ending at " + previousEnd + ") or the end of the volume (" + v.blocks
          + " blocks)");
    }
    if (e.generation() > m.maxGeneration()) {
      problem(m.label() + " map entry at block " + start + " was born in generation " + e.generation()
          + ", after the newest it may hold (" + m.maxGeneration() + ")");
    }
    if (e.kind() != MapEntry.Kind.DATA) {
      return Math.max(previousEnd, e.end());
    }
    if (m.head()) {
      totals[0] += e.length();
    }
    long[] ref = referenced.computeIfAbsent(e.record(), k -> new long[] {0, v.id});
    ref[0] += e.length();
    byte[] stateValue = meta.get(meta.records, e.record().key());
    if (stateValue != null) {
      RecordState s = RecordState.decode(stateValue);
      if (e.recordBlock() < 0 || e.recordBlock() + e.length() > s.blocks()
          || s.firstBlock() + e.recordBlock() != e.start()) {
        problem(m.label() + " map entry at block " + start + " maps record blocks " + e.recordBlock() + ".."
            + (e.recordBlock() + e.length()) + " of " + e.record() + ", which holds blocks " + s.firstBlock() + ".."
            + (s.firstBlock() + s.blocks()));
      }
    }
    return Math.max(previousEnd, e.end());
  }

  /** Reads the whole record, verifying its header against its state and every chunk checksum. */
  private long verifyRecord(RecordKey key, RecordState state) {
    try {
      RecordHeader h = RecordCodec.readHeader(segments, key);
      if (h.volume() != state.volume() || h.firstBlock() != state.firstBlock() || h.blocks() != state.blocks()
          || h.storedBytes() != state.storedBytes()) {
        problem(key + " header says volume id " + h.volume() + " blocks " + h.firstBlock() + "+" + h.blocks() + " ("
            + h.storedBytes() + " bytes), its state says volume id " + state.volume() + " blocks " + state.firstBlock()
            + "+" + state.blocks() + " (" + state.storedBytes() + " bytes)");
        return 0;
      }
      RecordCodec.readBlocks(segments, key, h, h.firstBlock(), 0, h.blocks(), ByteBuffer.allocate(h.blocks() * VolumeState.BLOCK));
      return h.storedBytes();
    } catch (IOException e) {
      problem(e.getMessage());
      return 0;
    }
  }
}
