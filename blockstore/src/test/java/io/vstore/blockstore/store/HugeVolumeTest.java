package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 64 TiB volumes (the largest accepted) holding a few blocks at the start, the middle and the very
 * end: every operation over the whole volume must cost what is mapped, not the virtual size, and
 * nothing may overflow a block count or length. Nothing here allocates memory or disk in proportion
 * to the virtual size.
 */
final class HugeVolumeTest {
  private static final long SIZE = Datastore.MAX_VOLUME_SIZE;
  private static final int BLOCK = VolumeState.BLOCK;
  private static final long MIDDLE = SIZE / 2 + 7 * BLOCK;
  private static final long LAST = SIZE - BLOCK;

  @TempDir Path tmp;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO);
  }

  private static ByteBuffer block(long seed) {
    byte[] b = new byte[BLOCK];
    new Random(seed).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  private static ByteBuffer read(Volume v, long offset, int length) throws IOException {
    ByteBuffer dst = ByteBuffer.allocate(length);
    v.read(offset, dst);
    return dst.flip();
  }

  /** Writes distinct random blocks at the first, a middle and the last block of {@code v}. */
  private static void writeThree(Volume v, long seed) throws IOException {
    v.write(0, block(seed));
    v.write(MIDDLE, block(seed + 1));
    v.write(LAST, block(seed + 2));
  }

  private static void assertThree(Volume v, long seed) throws IOException {
    assertThat(read(v, 0, BLOCK)).isEqualTo(block(seed));
    assertThat(read(v, MIDDLE, BLOCK)).isEqualTo(block(seed + 1));
    assertThat(read(v, LAST, BLOCK)).isEqualTo(block(seed + 2));
    assertThat(read(v, MIDDLE - BLOCK, BLOCK)).isEqualTo(ByteBuffer.allocate(BLOCK));
    assertThat(read(v, LAST - BLOCK, BLOCK)).isEqualTo(ByteBuffer.allocate(BLOCK));
  }

  /** The extents of the whole volume when it holds data at exactly the three blocks of {@link #writeThree}. */
  private static List<Extent> threeBlocks(Extent.Kind gaps) {
    return List.of(new Extent(0, BLOCK, Extent.Kind.DATA), new Extent(BLOCK, MIDDLE - BLOCK, gaps),
        new Extent(MIDDLE, BLOCK, Extent.Kind.DATA), new Extent(MIDDLE + BLOCK, LAST - MIDDLE - BLOCK, gaps),
        new Extent(LAST, BLOCK, Extent.Kind.DATA));
  }

  private static void assertClean(Datastore ds) throws IOException {
    CheckReport report = ds.check();
    assertThat(report.problems()).isEmpty();
  }

  @Test
  void theFirstMiddleAndLastBlocksReadBackAndAreAllThatIsAllocated() throws IOException {
    Path dir = tmp.resolve("ds");
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      Volume v = ds.createVolume("v", SIZE);
      writeThree(v, 1);
      assertThree(v, 1);
      assertThat(v.allocation(0, SIZE)).isEqualTo(threeBlocks(Extent.Kind.HOLE));
      VolumeInfo info = v.info();
      assertThat(info.size()).isEqualTo(SIZE);
      assertThat(info.mapped()).isEqualTo(3L * BLOCK);
      assertThat(info.unique()).isEqualTo(3L * BLOCK);
      assertThat(ds.info().provisioned()).isEqualTo(SIZE);
      CheckReport report = ds.check();
      assertThat(report.problems()).isEmpty();
      assertThat(report.mapEntries()).isEqualTo(3);
    }
    try (Datastore ds = Datastore.open(dir, options())) {
      Volume v = ds.volume("v");
      assertThree(v, 1);
      assertThat(v.allocation(0, SIZE)).isEqualTo(threeBlocks(Extent.Kind.HOLE));
      assertThat(ds.changedAreas("v", "*", 0, SIZE).extents()).isEqualTo(threeBlocks(Extent.Kind.HOLE).stream()
          .filter(e -> e.kind() == Extent.Kind.DATA).toList());
    }
  }

  @Test
  void unalignedWritesAndReadsAtTheVeryEndStayInsideTheVolume() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", SIZE);
      ByteBuffer tail = block(5).limit(3000);
      v.write(SIZE - 3000, tail);
      ByteBuffer expected = ByteBuffer.allocate(6000);
      expected.position(3000).put(block(5).limit(3000)).clear();
      assertThat(read(v, SIZE - 6000, 6000)).isEqualTo(expected);
      assertThat(v.allocation(SIZE - 2 * BLOCK, 2 * BLOCK)).containsExactly(
          new Extent(SIZE - 2 * BLOCK, BLOCK, Extent.Kind.HOLE), new Extent(LAST, BLOCK, Extent.Kind.DATA));
      assertThatThrownBy(() -> v.write(SIZE - 100, ByteBuffer.allocate(101)))
          .isInstanceOf(io.vstore.blockstore.OutOfRangeException.class).hasMessageContaining("outside the device");
      assertThatThrownBy(() -> v.read(SIZE, ByteBuffer.allocate(1))).hasMessageContaining("outside the device");
      assertThat(read(v, SIZE, 0).remaining()).isZero();
      assertClean(ds);
    }
  }

  @Test
  void aVolumeWhoseSizeIsNotWholeBlocksKeepsItsPartialLastBlock() throws IOException {
    long size = SIZE - 512;
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", size);
      v.write(size - 512, block(9).limit(512));
      assertThat(read(v, size - 512, 512)).isEqualTo(block(9).limit(512));
      assertThat(v.allocation(0, size)).containsExactly(new Extent(0, size - 3584, Extent.Kind.HOLE),
          new Extent(size - 3584, 3584, Extent.Kind.DATA));
      v.writeZeroes(0, size, true);
      assertThat(v.allocation(0, size)).containsExactly(new Extent(0, size, Extent.Kind.HOLE));
      assertClean(ds);
    }
  }

  @Test
  void theMaximumIsAcceptedAndAnythingLargerRefusedInOneLine() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      for (long size : new long[] {SIZE + 512, SIZE + BLOCK, Long.MAX_VALUE - 511}) {
        assertThatThrownBy(() -> ds.createVolume("big", size)).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("volume size " + size + " is larger than the maximum " + SIZE + " (64 TiB)");
      }
      ds.createVolume("v", 1L << 30).close();
      assertThatThrownBy(() -> ds.resizeVolume("v", SIZE + 512, false)).hasMessageContaining("64 TiB")
          .hasMessageNotContaining("\n");
      ds.resizeVolume("v", SIZE, false);
      Volume v = ds.volume("v");
      assertThat(v.size()).isEqualTo(SIZE);
      v.write(LAST, block(3));
      assertThat(read(v, LAST, BLOCK)).isEqualTo(block(3));
      ds.resizeVolume("v", 1L << 30, true);
      assertThat(ds.volume("v").allocation(0, 1L << 30)).containsExactly(new Extent(0, 1L << 30, Extent.Kind.HOLE));
      assertClean(ds);
    }
  }

  @Test
  void snapshotsSeeTheirStateAndChangeTrackingReportsOnlyWhatChanged() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", SIZE);
      writeThree(v, 1);
      SnapshotInfo s1 = ds.createSnapshot("v", "s1");
      assertThat(s1.allocated()).isEqualTo(3L * BLOCK);
      v.write(LAST, block(100));
      v.write(MIDDLE + 9 * BLOCK, block(101));
      ds.createSnapshot("v", "s2");

      try (Volume snap = ds.volume("v@s1")) {
        assertThree(snap, 1);
        assertThat(snap.allocation(0, SIZE)).isEqualTo(threeBlocks(Extent.Kind.HOLE));
      }
      assertThat(read(v, LAST, BLOCK)).isEqualTo(block(100));
      assertThat(ds.changedAreas("v", s1.changeId(), 0, SIZE).extents()).containsExactly(
          new Extent(MIDDLE + 9 * BLOCK, BLOCK, Extent.Kind.DATA), new Extent(LAST, BLOCK, Extent.Kind.DATA));
      assertThat(ds.changedAreas("v@s2", s1.changeId(), 0, SIZE).extents()).containsExactly(
          new Extent(MIDDLE + 9 * BLOCK, BLOCK, Extent.Kind.DATA), new Extent(LAST, BLOCK, Extent.Kind.DATA));
      // A discard of the whole volume is one change of every block.
      String beforeDiscard = v.info().changeId();
      v.discard(0, SIZE);
      assertThat(v.allocation(0, SIZE)).containsExactly(new Extent(0, SIZE, Extent.Kind.HOLE));
      assertThat(ds.changedAreas("v", beforeDiscard, 0, SIZE).extents())
          .containsExactly(new Extent(0, SIZE, Extent.Kind.DATA));
      assertClean(ds);

      ds.revert("v", "s1");
      assertThree(v, 1);
      assertThat(v.allocation(0, SIZE)).isEqualTo(threeBlocks(Extent.Kind.HOLE));
      assertThat(v.info().mapped()).isEqualTo(3L * BLOCK);
      assertClean(ds);

      ds.deleteSnapshot("v", "s1");
      try (Volume snap = ds.volume("v@s2")) {
        assertThat(read(snap, LAST, BLOCK)).isEqualTo(block(100));
        assertThat(read(snap, 0, BLOCK)).isEqualTo(block(1));
      }
      ds.deleteSnapshot("v", "s2");
      assertThree(v, 1);
      assertClean(ds);
      ds.deleteVolume("v");
      assertThat(ds.info().allocated()).isZero();
      assertClean(ds);
    }
  }

  @Test
  void clonesReadThroughWriteTheirLastBlockAndFlattenCopiesOnlyWhatIsMapped() throws IOException {
    Path dir = tmp.resolve("ds");
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      Volume v = ds.createVolume("v", SIZE);
      writeThree(v, 1);
      ds.createSnapshot("v", "s");
      Volume c = ds.cloneSnapshot("v", "s", List.of("c")).getFirst();
      assertThree(c, 1);
      c.write(LAST, block(200));
      assertThat(read(c, LAST, BLOCK)).isEqualTo(block(200));
      assertThat(read(v, LAST, BLOCK)).isEqualTo(block(1 + 2));
      assertThat(c.allocationDepth(0, SIZE)).containsExactly(new DepthExtent(0, BLOCK, 2),
          new DepthExtent(BLOCK, MIDDLE - BLOCK, 0), new DepthExtent(MIDDLE, BLOCK, 2),
          new DepthExtent(MIDDLE + BLOCK, LAST - MIDDLE - BLOCK, 0), new DepthExtent(LAST, BLOCK, 1));

      ds.flatten("c");
      ds.deleteSnapshot("v", "s");
      ds.deleteVolume("v");
      assertThat(read(c, 0, BLOCK)).isEqualTo(block(1));
      assertThat(read(c, MIDDLE, BLOCK)).isEqualTo(block(2));
      assertThat(read(c, LAST, BLOCK)).isEqualTo(block(200));
      assertThat(c.allocation(0, SIZE)).isEqualTo(threeBlocks(Extent.Kind.HOLE));
      assertThat(c.info().parent()).isNull();
      assertClean(ds);
    }
    try (Datastore ds = Datastore.open(dir, options())) {
      Volume c = ds.volume("c");
      assertThat(read(c, MIDDLE, BLOCK)).isEqualTo(block(2));
      assertThat(read(c, LAST, BLOCK)).isEqualTo(block(200));
      assertClean(ds);
    }
  }

  @Test
  void zeroingAWholeCloneHidesItsParentWithAFewEntries() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", SIZE);
      writeThree(v, 1);
      ds.createSnapshot("v", "s");
      Volume z = ds.cloneSnapshot("v", "s", List.of("z")).getFirst();
      z.writeZeroes(0, SIZE, true);
      assertThat(z.allocation(0, SIZE)).containsExactly(new Extent(0, SIZE, Extent.Kind.ZERO));
      assertThat(read(z, LAST, BLOCK)).isEqualTo(ByteBuffer.allocate(BLOCK));
      assertThat(read(z, 0, BLOCK)).isEqualTo(ByteBuffer.allocate(BLOCK));
      // The zeros are recorded as entries; their number must not grow with the virtual size
      // (one per 4 GiB would be 16 Ki entries here).
      CheckReport report = ds.check();
      assertThat(report.problems()).isEmpty();
      assertThat(report.mapEntries()).isLessThan(3 + 64);
      z.write(MIDDLE, block(300));
      assertThat(read(z, MIDDLE, BLOCK)).isEqualTo(block(300));
      assertThat(read(z, MIDDLE + BLOCK, BLOCK)).isEqualTo(ByteBuffer.allocate(BLOCK));
      assertThat(z.allocation(0, SIZE)).containsExactly(new Extent(0, MIDDLE, Extent.Kind.ZERO),
          new Extent(MIDDLE, BLOCK, Extent.Kind.DATA), new Extent(MIDDLE + BLOCK, SIZE - MIDDLE - BLOCK,
              Extent.Kind.ZERO));
      ds.flatten("z");
      assertThat(read(z, 0, BLOCK)).isEqualTo(ByteBuffer.allocate(BLOCK));
      assertThat(read(z, MIDDLE, BLOCK)).isEqualTo(block(300));
      assertClean(ds);
    }
  }

  @Test
  void manyScatteredExtentsOverTheWholeRangeAreListedExactly() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", SIZE);
      List<Extent> expected = new ArrayList<>();
      long stride = SIZE / 64;
      long previousEnd = 0;
      for (int i = 0; i < 64; i++) {
        long at = i * stride + (i == 63 ? stride - BLOCK : 0);
        v.write(at, block(i));
        if (at > previousEnd) {
          expected.add(new Extent(previousEnd, at - previousEnd, Extent.Kind.HOLE));
        }
        expected.add(new Extent(at, BLOCK, Extent.Kind.DATA));
        previousEnd = at + BLOCK;
      }
      assertThat(v.allocation(0, SIZE)).isEqualTo(expected);
      assertThat(read(v, LAST, BLOCK)).isEqualTo(block(63));
      assertThat(v.info().mapped()).isEqualTo(64L * BLOCK);
      assertClean(ds);
    }
  }
}
