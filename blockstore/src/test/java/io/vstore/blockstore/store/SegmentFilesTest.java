package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.testing.PowerCutChannels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Appends, reads, syncs and deletes of segment files, in memory, in the file and after a reopen or a power cut. */
final class SegmentFilesTest {
  private static final UUID DATASTORE = new UUID(7, 11);
  private static final int MIB = 1 << 20;
  @TempDir Path tmp;

  private SegmentFiles open(long segmentBytes, long committedNextId) throws IOException {
    return open(segmentBytes, committedNextId, ChannelOpener.DEFAULT);
  }

  private SegmentFiles open(long segmentBytes, long committedNextId, ChannelOpener opener) throws IOException {
    return new SegmentFiles(tmp.resolve("segments"), DATASTORE, segmentBytes, committedNextId, opener, id -> false);
  }

  private static byte[] bytes(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] read(SegmentFiles s, RecordKey key, int n) throws IOException {
    ByteBuffer dst = ByteBuffer.allocate(n);
    s.read(key.segment(), key.offset(), dst);
    assertThat(dst.hasRemaining()).isFalse();
    return dst.array();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 4096, MIB, SegmentFiles.BLOCK_BYTES - SegmentFiles.HEADER_BYTES})
  void aRecordReadsBackFromMemoryFromTheFileAndAfterAReopen(int size) throws IOException {
    byte[] data = bytes(size, size);
    RecordKey key;
    long next;
    try (SegmentFiles s = open(256L * MIB, 1)) {
      key = s.append(ByteBuffer.wrap(data));
      assertThat(key).isEqualTo(new RecordKey(1, SegmentFiles.HEADER_BYTES)); // after the header of segment 1
      assertThat(s.inMemory(key.segment(), key.offset())).isEqualTo(size > 0);
      assertThat(read(s, key, size)).isEqualTo(data);
      s.sync();
      assertThat(s.inMemory(key.segment(), key.offset())).isFalse();
      assertThat(read(s, key, size)).isEqualTo(data);
      s.checkHeader(1);
      next = s.nextId();
    }
    assertThat(Files.size(tmp.resolve("segments/0000000000000001.seg")) % 4096).as("aligned file size").isZero();
    try (SegmentFiles s = open(256L * MIB, next)) {
      assertThat(s.sizes()).containsOnlyKeys(1L);
      assertThat(read(s, key, size)).isEqualTo(data);
      s.checkHeader(1);
    }
  }

  @Test
  void recordsLargerThanABlockAreRefused() throws IOException {
    try (SegmentFiles s = open(256L * MIB, 1)) {
      int tooLarge = SegmentFiles.BLOCK_BYTES - SegmentFiles.HEADER_BYTES + 1;
      assertThatThrownBy(() -> s.append(ByteBuffer.allocate(tooLarge))).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(Integer.toString(tooLarge));
    }
  }

  @Test
  void manyRecordsAcrossBlocksAndSegmentsReadBack() throws IOException {
    Random r = new Random(5);
    List<RecordKey> keys = new ArrayList<>();
    List<byte[]> data = new ArrayList<>();
    long next;
    long total;
    try (SegmentFiles s = open(3L * MIB, 1)) {
      for (int i = 0; i < 60; i++) {
        byte[] d = bytes(i, r.nextInt(300 << 10));
        data.add(d);
        keys.add(s.append(ByteBuffer.wrap(d)));
        if (r.nextInt(8) == 0) {
          s.sync();
          // After a sync the next record starts at the next aligned offset: no page is written twice.
          RecordKey after = s.append(ByteBuffer.wrap(new byte[0]));
          assertThat(after.offset() % 4096).isZero();
        }
      }
      for (int i = 0; i < keys.size(); i++) {
        assertThat(read(s, keys.get(i), data.get(i).length)).as("record %d before sync", i).isEqualTo(data.get(i));
      }
      s.sync();
      assertThat(s.sizes().size()).as("3 MiB segments take about 9 MiB").isGreaterThan(2);
      assertThat(keys).allSatisfy(k -> assertThat(k.offset() + 0).isLessThan(3L * MIB));
      next = s.nextId();
      total = s.totalBytes();
    }
    try (SegmentFiles s = open(3L * MIB, next)) {
      long onDisk = 0;
      for (long id : s.sizes().keySet()) {
        onDisk += Files.size(s.path(id));
        s.checkHeader(id);
      }
      assertThat(s.totalBytes()).isEqualTo(onDisk).isEqualTo(total);
      for (int i = 0; i < keys.size(); i++) {
        assertThat(read(s, keys.get(i), data.get(i).length)).as("record %d after reopen", i).isEqualTo(data.get(i));
      }
    }
  }

  @Test
  void readsPastTheEndAreCorruption() throws IOException {
    try (SegmentFiles s = open(256L * MIB, 1)) {
      RecordKey key = s.append(ByteBuffer.wrap(bytes(1, 100)));
      assertThatThrownBy(() -> read(s, key, 200)).isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad map: a record at offset 64 of " + s.path(1));
      s.sync();
      long size = s.sizes().get(1L);
      assertThatThrownBy(() -> read(s, new RecordKey(1, size - 10), 20)).isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad segment: " + s.path(1) + " ends before offset " + size);
      ByteBuffer some = ByteBuffer.allocate(20);
      assertThat(s.readSome(1, size - 10, some)).isEqualTo(10);
    }
  }

  @Test
  void deleteRemovesTheFileAndItsBytes() throws IOException {
    try (SegmentFiles s = open(MIB + 8192, 1)) {
      RecordKey a = s.append(ByteBuffer.wrap(bytes(1, MIB)));
      RecordKey b = s.append(ByteBuffer.wrap(bytes(2, MIB)));
      assertThat(b.segment()).isEqualTo(a.segment() + 1);
      s.sync();
      assertThat(read(s, a, 10)).isEqualTo(java.util.Arrays.copyOf(bytes(1, MIB), 10));
      long before = s.totalBytes();
      long size = s.sizes().get(a.segment());
      s.delete(a.segment());
      assertThat(s.path(a.segment())).doesNotExist();
      assertThat(s.sizes()).containsOnlyKeys(b.segment());
      assertThat(s.totalBytes()).isEqualTo(before - size);
      assertThatThrownBy(() -> read(s, a, 10)).isInstanceOf(CorruptDataException.class)
          .hasMessage("bad segment: " + s.path(a.segment()) + " is missing");
      // Deleting the current segment seals it: the next record goes to a new one.
      s.delete(b.segment());
      RecordKey c = s.append(ByteBuffer.wrap(bytes(3, 100)));
      assertThat(c.segment()).isEqualTo(b.segment() + 1);
      s.sync();
      assertThat(read(s, c, 100)).isEqualTo(bytes(3, 100));
    }
  }

  @Test
  void segmentsAtOrPastTheCommittedCounterAreDeletedOnOpen() throws IOException {
    try (SegmentFiles s = open(MIB + 8192, 1)) {
      for (int i = 0; i < 3; i++) {
        s.append(ByteBuffer.wrap(bytes(i, MIB)));
      }
      s.sync();
      assertThat(s.sizes()).containsOnlyKeys(1L, 2L, 3L);
    }
    try (SegmentFiles s = open(MIB + 8192, 2)) {
      assertThat(s.sizes()).containsOnlyKeys(1L);
      assertThat(tmp.resolve("segments/0000000000000002.seg")).doesNotExist();
      assertThat(s.append(ByteBuffer.wrap(new byte[1])).segment()).isEqualTo(2);
    }
  }

  @Test
  void aPowerCutKeepsWhatWasSyncedAndLosesAtMostTheRest() throws IOException {
    PowerCutChannels power = new PowerCutChannels(3);
    byte[] synced = bytes(1, 300 << 10);
    RecordKey key;
    long next;
    try (SegmentFiles s = open(256L * MIB, 1, power::open)) {
      key = s.append(ByteBuffer.wrap(synced));
      s.sync();
      for (int i = 0; i < 20; i++) {
        s.append(ByteBuffer.wrap(bytes(10 + i, 200 << 10))); // fills blocks written but never synced
      }
      next = s.nextId();
      power.cut();
      s.abandon();
    }
    try (SegmentFiles s = open(256L * MIB, next)) {
      s.checkHeader(key.segment());
      assertThat(read(s, key, synced.length)).isEqualTo(synced);
    }
  }

  @Test
  void aFailedSyncFailsAgainUntilTheSegmentIsSynced() throws IOException {
    PowerCutChannels power = new PowerCutChannels(4);
    try (SegmentFiles s = open(256L * MIB, 1, power::open)) {
      s.append(ByteBuffer.wrap(bytes(1, 1000)));
      power.failForceAfter(1);
      assertThatThrownBy(s::sync).isInstanceOf(IOException.class);
      // The segment stays marked unsynced: the next sync tries again rather than reporting success.
      assertThatThrownBy(s::sync).isInstanceOf(IOException.class);
      s.abandon();
    }
  }

  @Test
  void headersAreCheckedWhenASegmentIsRead() throws IOException {
    RecordKey key;
    long next;
    try (SegmentFiles s = open(256L * MIB, 1)) {
      key = s.append(ByteBuffer.wrap(bytes(1, 5000)));
      s.sync();
      next = s.nextId();
    }
    Path file = tmp.resolve("segments/0000000000000001.seg");
    byte[] all = Files.readAllBytes(file);
    all[20] ^= 1; // inside the segment id: only the checksum catches it
    Files.write(file, all);
    try (SegmentFiles s = new SegmentFiles(tmp.resolve("segments"), DATASTORE, 256L * MIB, next, ChannelOpener.DEFAULT,
        id -> true)) {
      assertThat(s.sizes()).containsOnlyKeys(1L); // it holds records: kept, not recovered away
      assertThatThrownBy(() -> read(s, key, 10)).isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad segment: " + file + " header checksum");
      assertThatThrownBy(() -> s.checkHeader(1)).isInstanceOf(CorruptDataException.class);
      all[20] ^= 1;
      Files.write(file, all); // repaired: the next read checks again and succeeds
      assertThat(read(s, key, 5000)).isEqualTo(bytes(1, 5000));
    }
  }

  @Test
  void paddingPutsTheDataStartOnAPageWhenItCostsAtMostASixteenthOfTheRecord() {
    assertThat(SegmentFiles.alignmentPadding(64, 1200, MIB)).isEqualTo(4096 - 1264);
    assertThat(SegmentFiles.alignmentPadding(4096 - 1200, 1200, MIB)).isZero(); // already aligned
    assertThat(SegmentFiles.alignmentPadding(64, -1, MIB)).as("compressed first chunk").isZero();
    assertThat(SegmentFiles.alignmentPadding(64, 60, 4156)).as("4 KiB record: 3972 bytes is too dear").isZero();
    assertThat(SegmentFiles.alignmentPadding(4096 - 60 - 200, 60, 4156)).as("200 bytes is cheap").isEqualTo(200);
  }

  @Test
  void alignedAppendsPadWithZerosAndReadBackFromMemoryAndFile() throws IOException {
    try (SegmentFiles s = open(256L * MIB, 1)) {
      List<RecordKey> keys = new ArrayList<>();
      List<byte[]> data = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        byte[] d = bytes(i, i % 3 == 0 ? 4156 : 65536 + 112 + i);
        data.add(d);
        keys.add(s.append(ByteBuffer.wrap(d), i % 3 == 0 ? 60 : 112));
      }
      for (int i = 0; i < keys.size(); i++) {
        if (i % 3 != 0) {
          assertThat((keys.get(i).offset() + 112) % 4096).as("record %d data offset", i).isZero();
        }
        if (i > 0) {
          RecordKey prev = keys.get(i - 1);
          long gap = keys.get(i).offset() - prev.offset() - data.get(i - 1).length;
          assertThat(gap).as("padding before record %d", i).isBetween(0L, data.get(i).length / 16L);
        }
        assertThat(read(s, keys.get(i), data.get(i).length)).as("record %d from memory", i).isEqualTo(data.get(i));
      }
      s.sync();
      for (int i = 0; i < keys.size(); i++) {
        assertThat(read(s, keys.get(i), data.get(i).length)).as("record %d from the file", i).isEqualTo(data.get(i));
      }
    }
  }
}
