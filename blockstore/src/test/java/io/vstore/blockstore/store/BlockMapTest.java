package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.WriteBatch;

/** The in-memory block map: lookups by end block, pending changes and their round trip through RocksDB. */
class BlockMapTest {
  @TempDir
  Path dir;
  private MetaStore meta;

  @BeforeEach
  void open() throws Exception {
    meta = new MetaStore(dir.resolve("meta"));
  }

  @AfterEach
  void close() {
    meta.close();
  }

  private static MapEntry data(long start, int length, long segment, long generation) {
    return new MapEntry(start, length, MapEntry.Kind.DATA, new RecordKey(segment, 4096 * start), 0, generation);
  }

  private static MapEntry zero(long start, int length) {
    return new MapEntry(start, length, MapEntry.Kind.ZERO, null, 0, 1);
  }

  private void commit(BlockMap... maps) throws Exception {
    try (WriteBatch batch = new WriteBatch()) {
      CommitPipeline.Stage stage = new CommitPipeline.Stage();
      for (BlockMap m : maps) {
        m.writeTo(batch);
        m.staged(stage);
      }
      meta.commit(batch);
      stage.markCommitted();
      for (BlockMap m : maps) {
        m.purgeCommitted();
      }
    }
  }

  @Test
  void overlappingReturnsExactlyTheEntriesThatIntersectTheRangeInOrder() {
    BlockMap map = new BlockMap(7, meta);
    MapEntry a = data(0, 4, 1, 1);
    MapEntry b = zero(4, 2);
    MapEntry c = data(10, 5, 2, 1);
    map.put(c);
    map.put(a);
    map.put(b);

    assertThat(map.overlapping(0, 100)).containsExactly(a, b, c);
    assertThat(map.overlapping(3, 5)).containsExactly(a, b);
    // Ranges that only touch an entry's end or start leave it out.
    assertThat(map.overlapping(4, 6)).containsExactly(b);
    assertThat(map.overlapping(6, 10)).isEmpty();
    assertThat(map.overlapping(14, 15)).containsExactly(c);
    assertThat(map.overlapping(15, 20)).isEmpty();
    assertThat(map.overlapping(5, 5)).isEmpty();
    assertThat(map.overlapping(9, 3)).isEmpty();
    assertThat(map.entryEnding(6)).isEqualTo(b);
    assertThat(map.entryEnding(5)).isNull();
    assertThat(map.size()).isEqualTo(3);
  }

  @Test
  void pagesOfScatteredSmallExtentsTakeAtMostTwelveBytesAnEntry() throws Exception {
    // Every other block of 200 pages, written in a scrambled order from 60 segments of 256 MiB
    // over 300 flushes: the shape of issue 13's ten million scattered 4 KiB writes.
    BlockMap map = new BlockMap(7, meta);
    java.util.Random r = new java.util.Random(13);
    int entries = 200 * (int) MapPage.BLOCKS / 2;
    for (int i = 0; i < entries; i++) {
      long block = 2 * ((i * 7919L) % entries);
      map.put(new MapEntry(block, 1, MapEntry.Kind.DATA, new RecordKey(r.nextInt(60), r.nextInt(256 << 20)), 0,
          1 + i / (entries / 300)));
    }
    commit(map);
    BlockMap reopened = new BlockMap(7, meta);
    long before = meta.cache().used();
    assertThat(reopened.overlapping(0, 200 * MapPage.BLOCKS / 16)).hasSize(entries / 16); // 16 pages at a time at most
    for (long from = 0; from < 200 * MapPage.BLOCKS; from += MapPage.BLOCKS) {
      assertThat(reopened.overlapping(from, from + MapPage.BLOCKS)).hasSize((int) MapPage.BLOCKS / 2);
    }
    assertThat(reopened.cachedPages()).hasSize(200);
    double perEntry = (meta.cache().used() - before) / (double) entries;
    assertThat(perEntry).as("bytes an entry, page overhead included").isLessThanOrEqualTo(12.0);
  }

  @Test
  void removedEntriesAreGoneAndCountAsPendingChanges() {
    BlockMap map = new BlockMap(7, meta);
    MapEntry a = data(0, 4, 1, 1);
    map.put(a);
    map.put(zero(8, 8));
    assertThat(map.pendingChanges()).isEqualTo(2);

    map.remove(a);
    assertThat(map.overlapping(0, 4)).isEmpty();
    assertThat(map.entryEnding(4)).isNull();
    // The put and the remove of one key are one change: the last one wins.
    assertThat(map.pendingChanges()).isEqualTo(2);
    map.staged(new CommitPipeline.Stage());
    assertThat(map.pendingChanges()).isZero();
    assertThat(map.size()).isEqualTo(1);
  }

  @Test
  void committedChangesLoadIntoAFreshMapOfTheSameIdOnly() throws Exception {
    BlockMap map = new BlockMap(7, meta);
    BlockMap other = new BlockMap(8, meta);
    MapEntry a = data(0, 4, 1, 1);
    MapEntry b = data(4, 4, 1, 2);
    MapEntry c = zero(20, 3);
    map.put(a);
    map.put(b);
    map.put(c);
    other.put(data(0, 100, 9, 1));
    commit(map, other);

    // Replace b by two halves of a new record and drop c: puts and tombstones both reach RocksDB.
    map.remove(b);
    MapEntry b1 = data(4, 2, 3, 3);
    MapEntry b2 = b.slice(6, 8);
    map.put(b1);
    map.put(b2);
    map.remove(c);
    commit(map);

    BlockMap reloaded = new BlockMap(7, meta);
    assertThat(reloaded.overlapping(0, Long.MAX_VALUE)).containsExactly(a, b1, b2);
    assertThat(reloaded.pendingChanges()).isZero();
    assertThat(new BlockMap(8, meta).overlapping(0, 1000)).containsExactly(data(0, 100, 9, 1));
    assertThat(new BlockMap(9, meta).size()).isZero();
  }

  @Test
  void changesNotWrittenToABatchStayInMemoryOnly() throws Exception {
    BlockMap map = new BlockMap(7, meta);
    map.put(data(0, 4, 1, 1));
    commit(map);
    map.put(data(10, 1, 1, 2));

    assertThat(map.overlapping(0, 20)).hasSize(2);
    assertThat(map.pendingChanges()).isEqualTo(1);
    assertThat(new BlockMap(7, meta).overlapping(0, 20)).containsExactly(data(0, 4, 1, 1));
  }

  @Test
  void sliceKeepsTheRecordBlockOfEachPart() {
    MapEntry e = data(10, 8, 1, 5);
    List<MapEntry> parts = List.of(e.slice(10, 12), e.slice(12, 18));
    BlockMap map = new BlockMap(7, meta);
    parts.forEach(map::put);
    assertThat(map.overlapping(11, 13)).extracting(MapEntry::recordBlock).containsExactly(0, 2);
  }

  @Test
  void valuesRoundTripAndDamagedValuesAreRefusedNotReadAsZeros() {
    MapEntry d = data(40, 8, 3, 9);
    assertThat(MapEntry.decodeEnding(48, d.encodeValue())).isEqualTo(d);
    MapEntry z = zero(8, 2);
    assertThat(MapEntry.decodeEnding(10, z.encodeValue())).isEqualTo(z);
    byte[] unknownKind = d.encodeValue();
    unknownKind[0] = 7;
    assertThatThrownBy(() -> MapEntry.decodeEnding(48, unknownKind)).hasMessageContaining("unknown kind 7");
    assertThatThrownBy(() -> MapEntry.decodeEnding(48, new byte[5])).hasMessageContaining("has 5 bytes");
    assertThatThrownBy(() -> MapEntry.decodeEnding(4, d.encodeValue())).hasMessageContaining("length 8");
  }
}
