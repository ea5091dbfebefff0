package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.Extent;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cleaner writing fragmented ranges back in order: same data everywhere, fewer reads, nothing reported changed. */
class DefragmentTest {
  private static final int BLOCK = 4096;
  private static final int MIB = 1 << 20;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  private static final class Scratch implements ReadPlan.Scratch {
    @Override
    public ByteBuffer acquire(int bytes) {
      return ByteBuffer.allocateDirect(bytes);
    }

    @Override
    public void release(ByteBuffer buffer) {}
  }

  private static byte[] read(Volume v, long offset, int length) throws Exception {
    byte[] out = new byte[length];
    v.read(offset, ByteBuffer.wrap(out));
    return out;
  }

  /** Returns how many file reads a planned read of {@code [offset, offset + length)} needs. */
  private static int fileReads(Volume v, long offset, int length) throws Exception {
    ReadPlan plan = v.planRead(offset, ByteBuffer.allocateDirect(length), new Scratch());
    try {
      return plan.fileReads().size();
    } finally {
      plan.release();
    }
  }

  @Test
  void aRangeReadFragmentedIsWrittenBackInOrderByTheCleanerAndReadsTheSameEverywhere(@TempDir Path dir) throws Exception {
    Path path = dir.resolve("ds");
    Random rnd = new Random(1);
    byte[] model = new byte[2 * MIB];
    byte[] atSnapshot = null;
    String since;
    try (Datastore ds = Datastore.create(path, options(), 0); Volume v = ds.createVolume("v", 2L * MIB)) {
      rnd.nextBytes(model);
      v.write(0, ByteBuffer.wrap(model));
      for (int b = 0; b < 256; b += 4) { // every fourth block of the first MiB, a record each
        if (b == 128) {
          v.flush();
          ds.createSnapshot("v", "s"); // half of the small records after it, half before
          atSnapshot = model.clone();
        }
        byte[] block = new byte[BLOCK];
        rnd.nextBytes(block);
        v.write((long) b * BLOCK, ByteBuffer.wrap(block));
        System.arraycopy(block, 0, model, b * BLOCK, BLOCK);
      }
      v.flush();
      since = ds.volumeInfo("v").changeId();
      int before = fileReads(v, 0, MIB);
      assertThat(before).as("a fragmented MiB").isGreaterThanOrEqualTo(Defragmenter.MIN_READS_PER_WINDOW);
      assertThat(v.state().writer().fragmented().size()).as("the read noted its window").isEqualTo(1);
      assertThat(fileReads(v, MIB, MIB)).as("the second MiB is one record").isEqualTo(1);
      assertThat(v.state().writer().fragmented().size()).isEqualTo(1);

      ds.clean();
      assertThat(v.state().writer().fragmented().size()).isZero();
      assertThat(fileReads(v, 0, MIB)).as("after the rewrite").isEqualTo(1);
      assertThat(read(v, 0, 2 * MIB)).isEqualTo(model);
      try (Volume s = ds.volume("v@s")) {
        assertThat(read(s, 0, 2 * MIB)).as("the snapshot").isEqualTo(atSnapshot);
      }
      ChangedAreas changes = ds.changedAreas("v", since, 0, 2L * MIB);
      assertThat(changes.extents()).as("a rewrite is no change").isEmpty();
      assertThat(ds.check().problems()).isEmpty();
    }
    try (Datastore ds = Datastore.open(path, options()); Volume v = ds.volume("v")) {
      assertThat(read(v, 0, 2 * MIB)).as("after reopening").isEqualTo(model);
      assertThat(fileReads(v, 0, MIB)).isEqualTo(1);
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void aSwitchIsRefusedWhenTheHeadChangedSinceTheRangeWasRead(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0); Volume v = ds.createVolume("v", MIB)) {
      byte[] data = new byte[16 * BLOCK];
      new Random(2).nextBytes(data);
      for (int b = 0; b < 16; b++) {
        v.write((long) b * BLOCK, ByteBuffer.wrap(data, b * BLOCK, BLOCK));
      }
      VolumeState state = v.state();
      List<MapEntry> seen;
      state.lock.readLock().lock();
      try {
        seen = new ArrayList<>(state.head().overlapping(0, 16));
      } finally {
        state.lock.readLock().unlock();
      }
      assertThat(seen).hasSize(16);
      byte[] newer = new byte[BLOCK];
      new Random(3).nextBytes(newer);
      v.write(5L * BLOCK, ByteBuffer.wrap(newer));
      System.arraycopy(newer, 0, data, 5 * BLOCK, BLOCK);
      RecordKey bogus = new RecordKey(Long.MAX_VALUE, 0);
      assertThat(state.moves().adoptCopy(0, 16, seen, bogus, new RecordState(state.id, 0, 16, 16 * BLOCK, 16))).isFalse();
      assertThat(read(v, 0, 16 * BLOCK)).isEqualTo(data);
      assertThat(v.state().writer().defragment(0, 16, 2)).as("a fresh read of the range").isTrue();
      assertThat(read(v, 0, 16 * BLOCK)).isEqualTo(data);
      assertThat(v.allocation(0, MIB)).containsExactly(new Extent(0, 16 * BLOCK, Extent.Kind.DATA),
          new Extent(16 * BLOCK, MIB - 16 * BLOCK, Extent.Kind.HOLE));
      v.flush();
      assertThat(ds.check().problems()).isEmpty();
      assertThatThrownBy(() -> v.state().writer().defragment(0, 257, 2)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void onlyRunsOfHeadDataEntriesAreRewrittenNotHolesZerosOrAParentsData(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0); Volume v = ds.createVolume("v", MIB)) {
      Random rnd = new Random(4);
      byte[] base = new byte[MIB];
      rnd.nextBytes(base);
      v.write(0, ByteBuffer.wrap(base));
      v.flush();
      ds.createSnapshot("v", "s");
      try (Volume c = ds.cloneSnapshot("v", "s", List.of("c")).getFirst()) {
        byte[] model = base.clone();
        for (int b = 0; b < 64; b += 2) { // blocks of the clone's own between blocks read from its parent
          byte[] block = new byte[BLOCK];
          rnd.nextBytes(block);
          c.write((long) b * BLOCK, ByteBuffer.wrap(block));
          System.arraycopy(block, 0, model, b * BLOCK, BLOCK);
        }
        c.writeZeroes(100L * BLOCK, 4 * BLOCK, true);
        java.util.Arrays.fill(model, 100 * BLOCK, 104 * BLOCK, (byte) 0);
        assertThat(c.state().writer().defragment(0, 256, 2)).as("no two head entries follow each other").isFalse();
        for (int b = 1; b < 8; b += 2) {
          byte[] block = new byte[BLOCK];
          rnd.nextBytes(block);
          c.write((long) b * BLOCK, ByteBuffer.wrap(block));
          System.arraycopy(block, 0, model, b * BLOCK, BLOCK);
        }
        assertThat(c.state().writer().defragment(0, 256, 2)).as("blocks 0-8 are the clone's own now").isTrue();
        assertThat(c.allocationDepth(0, 16 * BLOCK)).first().satisfies(d -> {
          assertThat(d.length()).isEqualTo(9 * BLOCK);
          assertThat(d.depth()).isEqualTo(1);
        });
        assertThat(read(c, 0, MIB)).isEqualTo(model);
        c.flush();
      }
      try (Volume s = ds.volume("v@s")) {
        assertThat(read(s, 0, MIB)).isEqualTo(base);
      }
      assertThat(ds.check().problems()).isEmpty();
    }
  }
}
