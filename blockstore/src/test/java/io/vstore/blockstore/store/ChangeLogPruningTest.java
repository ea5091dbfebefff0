package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.PowerCutChannels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksIterator;

/**
 * The change log stays small however many flushes there are (about one row per pinned change id
 * and snapshot, plus the recent window), pinned change ids stay exact, older ones are refused, and
 * a power cut leaves every pinned id exact.
 */
final class ChangeLogPruningTest {
  private static final int BLOCK = 4096;
  private static final long SIZE = 4L << 20;
  @TempDir Path tmp;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(8L << 20).withCleanerInterval(Duration.ZERO);
  }

  @Test
  @Tag("slow")
  void manyFlushesOfOneBlockKeepTheLogBoundedByThePins() throws IOException {
    // Each flush syncs, a few milliseconds: 1,000,000 (issue 13's figure) on demand with -Dvstore.cbtFlushes;
    // the bound checked is structural, so it is as strong at 20,000.
    int flushes = Workloads.iterations("vstore.cbtFlushes", 20_000, 5_000);
    Random r = new Random(0xcb7L);
    Path dir = tmp.resolve("ds");
    Map<String, BitSet> touchedSincePin = new HashMap<>();
    List<String> unpinned = new ArrayList<>();
    int pinEvery = flushes / 8;
    try (Datastore ds = Datastore.create(dir, options(), 0); Volume v = ds.createVolume("v", SIZE)) {
      ByteBuffer data = ByteBuffer.allocate(BLOCK);
      for (int i = 1; i <= flushes; i++) {
        int block = r.nextInt(256);
        data.clear();
        data.putLong(0, i);
        v.write((long) block * BLOCK, data);
        v.flush();
        for (BitSet touched : touchedSincePin.values()) {
          touched.set(block);
        }
        if (i % pinEvery == 0) {
          String id = ds.volumeInfo("v").changeId();
          ds.pinChangeId(id, "p" + i);
          touchedSincePin.put(id, new BitSet());
          if (i / pinEvery % 3 == 0) { // a third of them go again: the history they split is merged
            String earlier = ds.changePins("v").getFirst().changeId();
            ds.unpinChangeId(earlier);
            touchedSincePin.remove(earlier);
            unpinned.add(earlier);
          }
        }
      }
      for (Map.Entry<String, BitSet> e : touchedSincePin.entrySet()) {
        assertThat(changedBlocks(ds.changedAreas("v", e.getKey(), 0, SIZE))).as("changed since pinned %s", e.getKey())
            .isEqualTo(e.getValue());
      }
      for (String id : unpinned) {
        assertThatThrownBy(() -> ds.changedAreas("v", id, 0, SIZE)).isInstanceOf(ChangeIdException.class)
            .hasMessageContaining("is no longer tracked (pruned at generation");
      }
      assertThat(ds.changePins("v")).hasSize(touchedSincePin.size());
      assertThat(ds.check().problems()).isEmpty();
    }
    long[] rowsAndBytes = changeLog(dir);
    // One row per interval between pins (and before the first), the recent window, the row leaving it.
    assertThat(rowsAndBytes[0]).as("change-log rows after %d flushes with %d pins", flushes, touchedSincePin.size())
        .isLessThanOrEqualTo(touchedSincePin.size() + 1 + ChangeLog.RECENT + 1);
    // Each row holds at most the 256 blocks written: 128 ranges of 16 bytes, and an 8-byte prefix.
    assertThat(rowsAndBytes[1]).isLessThanOrEqualTo(rowsAndBytes[0] * (16 + 8 + 128 * 16));
  }

  @Test
  void aChangeIdInsideMergedHistoryIsRefusedAndCannotBePinned() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0); Volume v = ds.createVolume("v", SIZE)) {
      ByteBuffer data = ByteBuffer.allocate(BLOCK);
      v.write(0, data.duplicate());
      v.flush();
      String old = ds.volumeInfo("v").changeId();
      String pinned = null;
      for (int i = 0; i < 3 * ChangeLog.RECENT; i++) {
        v.write(BLOCK * (1L + i), data.duplicate());
        v.flush();
        if (i == 5) {
          pinned = ds.volumeInfo("v").changeId();
          ds.pinChangeId(pinned, "backup");
          assertThat(ds.pinChangeId(pinned, "backup").label()).isEqualTo("backup"); // again: the same pin
        }
      }
      String oldId = old;
      assertThatThrownBy(() -> ds.changedAreas("v", oldId, 0, SIZE)).isInstanceOf(ChangeIdException.class)
          .hasMessageContaining("change id " + old + " is no longer tracked (pruned at generation");
      assertThatThrownBy(() -> ds.pinChangeId(oldId, null)).isInstanceOf(ChangeIdException.class)
          .hasMessageContaining("is no longer tracked");
      String p = pinned;
      String now = ds.volumeInfo("v").changeId();
      assertThatThrownBy(() -> ds.pinChangeId(now, "backup"))
          .hasMessageContaining("that label already pins " + p);
      BitSet expected = new BitSet();
      expected.set(1 + 6, 1 + 3 * ChangeLog.RECENT);
      assertThat(changedBlocks(ds.changedAreas("v", pinned, 0, SIZE))).isEqualTo(expected);
      assertThat(ds.unpinChangeId("backup")).extracting(ChangePin::changeId).containsExactly(pinned);
      assertThatThrownBy(() -> ds.unpinChangeId("backup")).isInstanceOf(DatastoreException.class)
          .hasMessageContaining("no pin named backup");
      assertThatThrownBy(() -> ds.changedAreas("v", p, 0, SIZE)).isInstanceOf(ChangeIdException.class)
          .hasMessageContaining("is no longer tracked");
      String recent = ds.volumeInfo("v").changeId();
      assertThat(ds.pinChangeId(recent, null).label()).isEmpty();
      assertThat(ds.changePins(null)).extracting(ChangePin::changeId).containsExactly(recent);
      ds.deleteVolume("v");
      assertThat(ds.changePins(null)).isEmpty();
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void rowsEncodeTheirFirstGenerationOnlyWhenMerged() throws IOException {
    BlockRanges ranges = new BlockRanges();
    ranges.add(3, 9);
    ChangeLog.Row single = new ChangeLog.Row(6, 7, ranges.encode());
    assertThat(single.encode()).hasSize(16).isEqualTo(ranges.encode()); // as rows were before merging
    ChangeLog.Row merged = new ChangeLog.Row(2, 7, ranges.encode());
    assertThat(merged.encode()).hasSize(24);
    ChangeLog.Row back = ChangeLog.Row.decode(1, 7, merged.encode());
    assertThat(back.from()).isEqualTo(2);
    assertThat(back.ranges()).isEqualTo(ranges.encode());
    assertThat(ChangeLog.Row.decode(1, 7, single.encode()).from()).isEqualTo(6);
    assertThatThrownBy(() -> ChangeLog.Row.decode(1, 7, new byte[20])).isInstanceOf(CorruptDataException.class)
        .hasMessage("bad change log: row of volume id 1 at generation 7 is 20 bytes, expected 16n or 16n + 8");
    byte[] wrongFrom = new ChangeLog.Row(6, 7, ranges.encode()).encode();
    byte[] prefixed = ByteBuffer.allocate(8 + wrongFrom.length).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(6)
        .put(wrongFrom).array();
    assertThatThrownBy(() -> ChangeLog.Row.decode(1, 7, prefixed)).isInstanceOf(CorruptDataException.class)
        .hasMessageContaining("from generation 6, expected from below 6");
  }

  @Test
  void aSnapshotKeepsItsChangeIdUntilDeleted() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0); Volume v = ds.createVolume("v", SIZE)) {
      ByteBuffer data = ByteBuffer.allocate(BLOCK);
      v.write(0, data.duplicate());
      ds.createSnapshot("v", "s");
      String snapId = ds.volumeInfo("v").changeId();
      for (int i = 0; i < 2 * ChangeLog.RECENT; i++) {
        v.write(BLOCK * (1L + i % 4), data.duplicate());
        v.flush();
      }
      BitSet expected = new BitSet();
      expected.set(1, 5);
      assertThat(changedBlocks(ds.changedAreas("v", snapId, 0, SIZE))).isEqualTo(expected);
      ds.deleteSnapshot("v", "s");
      assertThatThrownBy(() -> ds.changedAreas("v", snapId, 0, SIZE)).isInstanceOf(ChangeIdException.class)
          .hasMessageContaining("is no longer tracked");
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  @Tag("slow")
  void powerCutsLeaveEveryPinnedChangeIdExact() throws IOException {
    Workloads.eachSeed("change-log power-cut", 0xc4a9e000L, Workloads.iterations("vstore.cbtCuts", 20, 8),
        tmp, "cut", ChangeLogPruningTest::powerCutOnce);
  }

  /**
   * Writes, flushes, pins, unpins and snapshots until an injected sync failure, cuts the power and
   * checks, after reopening, that every pin and snapshot that completed answers exactly what the
   * committed flushes wrote since.
   */
  private static void powerCutOnce(long seed, Path dir) throws IOException {
    Random r = new Random(seed);
    PowerCutChannels power = new PowerCutChannels(seed);
    Datastore ds = Datastore.create(dir, options().withChannels(power::open), 0);
    Volume v = ds.createVolume("v", SIZE);
    Map<String, BitSet> committed = new HashMap<>(); // kept change id -> blocks committed since
    Map<String, String> snapshots = new HashMap<>(); // snapshot name -> its change id
    BitSet pending = new BitSet();
    power.failForceAfter(20 + r.nextInt(200));
    int names = 0;
    try {
      for (int step = 0; step < 2000; step++) {
        int op = r.nextInt(20);
        if (op >= 16) {
          // Pins, unpins and snapshot changes flush first and may fail after that flush committed:
          // flush here, so that whether the pending writes are committed is known.
          v.flush();
          committed.values().forEach(b -> b.or(pending));
          pending.clear();
        }
        if (op < 12) {
          int block = r.nextInt(64);
          v.write((long) block * BLOCK, Workloads.data(r, BLOCK));
          pending.set(block);
        } else if (op < 16) {
          v.flush();
          committed.values().forEach(b -> b.or(pending));
          pending.clear();
        } else if (op < 18) {
          String id = ds.volumeInfo("v").changeId(); // flushes
          committed.values().forEach(b -> b.or(pending));
          pending.clear();
          ds.pinChangeId(id, "p" + names++);
          committed.put(id, new BitSet());
        } else if (op == 18 && !ds.changePins("v").isEmpty()) {
          List<ChangePin> pins = ds.changePins("v");
          ChangePin p = pins.get(r.nextInt(pins.size()));
          ds.unpinChangeId(p.label());
          committed.remove(p.changeId());
        } else if (op == 19) {
          if (snapshots.isEmpty() || r.nextBoolean()) {
            String name = "s" + names++;
            ds.createSnapshot("v", name);
            committed.values().forEach(b -> b.or(pending));
            pending.clear();
            String id = ds.volumeInfo("v").changeId();
            snapshots.put(name, id);
            committed.putIfAbsent(id, new BitSet());
          } else {
            String name = snapshots.keySet().iterator().next();
            ds.deleteSnapshot("v", name);
            String id = snapshots.remove(name);
            if (!snapshots.containsValue(id) && ds.changePins("v").stream().noneMatch(p -> p.changeId().equals(id))) {
              committed.remove(id);
            }
          }
        }
      }
    } catch (IOException injected) {
      assertThat(injected).hasMessageContaining("injected failure");
    }
    power.cut();
    ds.abandon();
    try (Datastore again = Datastore.open(dir, options())) {
      assertThat(again.check().problems()).as("check after the cut").isEmpty();
      for (Map.Entry<String, BitSet> e : committed.entrySet()) {
        // A flush that failed did not commit, so its blocks count only if the cut kept them: not at all.
        assertThat(changedBlocks(again.changedAreas("v", e.getKey(), 0, SIZE))).as("changed since %s", e.getKey())
            .isEqualTo(e.getValue());
      }
    }
  }

  private static BitSet changedBlocks(ChangedAreas areas) {
    BitSet out = new BitSet();
    for (Extent e : areas.extents()) {
      out.set((int) (e.offset() / BLOCK), (int) (e.end() / BLOCK));
    }
    return out;
  }

  /** Returns the change log's row count and key-and-value bytes, read from the closed datastore's metadata. */
  private static long[] changeLog(Path dir) throws IOException {
    long rows = 0;
    long bytes = 0;
    try (MetaStore meta = new MetaStore(dir.resolve("meta")); RocksIterator it = meta.iterator(meta.changes)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        rows++;
        bytes += it.key().length + it.value().length;
      }
    }
    return new long[] {rows, bytes};
  }
}
