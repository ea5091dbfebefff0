package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Volume#allocationDepth}: which layer of a clone chain holds each range, for heads, snapshot
 * views, clones of clones and flattened clones, against depth maps worked out by hand.
 */
final class AllocationDepthTest {
  private static final int SLOT = 64 << 10;
  private static final int SLOTS = 16;
  private static final long SIZE = (long) SLOT * SLOTS;

  @TempDir Path tmp;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO);
  }

  private static void fill(Volume v, int slot, int value) throws IOException {
    byte[] b = new byte[SLOT];
    Arrays.fill(b, (byte) value);
    v.write((long) slot * SLOT, ByteBuffer.wrap(b));
  }

  private static void zero(Volume v, int slot) throws IOException {
    v.writeZeroes((long) slot * SLOT, SLOT, true);
  }

  /** Returns the depth map of slots {@code 0..depths.length-1} (the rest 0), neighbours merged. */
  private static List<DepthExtent> expected(int... depths) {
    int[] all = Arrays.copyOf(depths, SLOTS);
    List<DepthExtent> out = new ArrayList<>();
    int start = 0;
    for (int i = 1; i <= SLOTS; i++) {
      if (i == SLOTS || all[i] != all[start]) {
        out.add(new DepthExtent((long) start * SLOT, (long) (i - start) * SLOT, all[start]));
        start = i;
      }
    }
    return out;
  }

  /** Asserts the depth map of {@code spec} and that depth 0 is exactly where allocation() sees holes. */
  private static void assertDepths(Datastore ds, String spec, int... depths) throws IOException {
    try (Volume v = ds.volume(spec, true)) {
      List<DepthExtent> actual = v.allocationDepth(0, SIZE);
      assertThat(actual).as("allocation depth of %s", spec).containsExactlyElementsOf(expected(depths));
      for (Extent e : v.allocation(0, SIZE)) {
        for (DepthExtent d : v.allocationDepth(e.offset(), e.length())) {
          assertThat(d.depth() == 0).as("%s at %d: %s vs depth %d", spec, d.offset(), e.kind(), d.depth())
              .isEqualTo(e.kind() == Extent.Kind.HOLE);
        }
      }
    }
  }

  /**
   * a: data in slots 0, 1, 2, 7; slot 3 written then zeroed (a plain volume stores no zeros); snapshot
   * s1; then slot 4. b, a linked clone of a@s1: slot 1 rewritten, slot 2 zeroed (a clone records
   * the zeros that hide its parent); snapshot s2; then slot 5. c, a linked clone of b@s2: slot 0.
   */
  private static void buildChain(Datastore ds) throws IOException {
    try (Volume a = ds.createVolume("a", SIZE)) {
      for (int slot : new int[] {0, 1, 2, 3, 7}) {
        fill(a, slot, 'a');
      }
      zero(a, 3);
      ds.createSnapshot("a", "s1");
      fill(a, 4, 'a');
    }
    try (Volume b = ds.cloneSnapshot("a", "s1", List.of("b")).getFirst()) {
      fill(b, 1, 'b');
      zero(b, 2);
      ds.createSnapshot("b", "s2");
      fill(b, 5, 'b');
    }
    try (Volume c = ds.cloneSnapshot("b", "s2", List.of("c")).getFirst()) {
      fill(c, 0, 'c');
    }
  }

  @Test
  void eachLayerOfAThreeLevelChainReportsItsDepth() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      buildChain(ds);
      //                   slot 0  1  2  3  4  5  6  7
      assertDepths(ds, "a", 1, 1, 1, 0, 1, 0, 0, 1);
      assertDepths(ds, "a@s1", 1, 1, 1, 0, 0, 0, 0, 1);
      assertDepths(ds, "b", 2, 1, 1, 0, 0, 1, 0, 2);
      assertDepths(ds, "b@s2", 2, 1, 1, 0, 0, 0, 0, 2);
      assertDepths(ds, "c", 1, 2, 2, 0, 0, 0, 0, 3);
    }
  }

  @Test
  void depthsSurviveReopeningTheDatastore() throws IOException {
    Path dir = tmp.resolve("ds");
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      buildChain(ds);
    }
    try (Datastore ds = Datastore.open(dir, options())) {
      assertDepths(ds, "c", 1, 2, 2, 0, 0, 0, 0, 3);
      assertDepths(ds, "b@s2", 2, 1, 1, 0, 0, 0, 0, 2);
    }
  }

  @Test
  void aSnapshotOfACloneSeesItsOwnLayerAsOfTheSnapshot() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      buildChain(ds);
      ds.createSnapshot("c", "s3");
      try (Volume c = ds.volume("c")) {
        fill(c, 6, 'c');
        fill(c, 7, 'c');
      }
      assertDepths(ds, "c", 1, 2, 2, 0, 0, 0, 1, 1);
      assertDepths(ds, "c@s3", 1, 2, 2, 0, 0, 0, 0, 3);
    }
  }

  @Test
  void aFlattenedCloneHoldsItsCopiedUpDataItselfAndCountsAsOneLayerForItsOwnClones() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      buildChain(ds);
      ds.createSnapshot("c", "s3");
      try (Volume c = ds.volume("c")) {
        fill(c, 6, 'c');
      }
      ds.flatten("c");
      // The copy-up takes the parent's data, not the zeros b recorded in slot 2: c now reads
      // them from nowhere, as a raw copy of the chain would.
      assertDepths(ds, "c", 1, 1, 0, 0, 0, 0, 1, 1);
      assertDepths(ds, "c@s3", 1, 1, 0, 0, 0, 0, 0, 1);
      // Head, snapshot deltas and base of c are one layer to a clone of c.
      ds.cloneSnapshot("c", "s3", List.of("d")).forEach(AllocationDepthTest::closeQuietly);
      try (Volume d = ds.volume("d")) {
        fill(d, 2, 'd');
      }
      assertDepths(ds, "d", 2, 2, 1, 0, 0, 0, 0, 2);
    }
  }

  @Test
  void rangesNeedNotBeBlockAligned() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      buildChain(ds);
      try (Volume c = ds.volume("c", true)) {
        assertThat(c.allocationDepth(SLOT - 100, 200)).containsExactly(
            new DepthExtent(SLOT - 100, 100, 1), new DepthExtent(SLOT, 100, 2));
        assertThat(c.allocationDepth(7L * SLOT + 1, 10)).containsExactly(new DepthExtent(7L * SLOT + 1, 10, 3));
        assertThat(c.allocationDepth(SIZE - 1, 1)).containsExactly(new DepthExtent(SIZE - 1, 1, 0));
        assertThat(c.allocationDepth(5, 0)).isEmpty();
        assertThatThrownBy(() -> c.allocationDepth(SIZE - 4096, 8192)).isInstanceOf(OutOfRangeException.class)
            .hasMessageContaining("volume c:");
      }
    }
  }

  @Test
  void aClosedHandleRefusesTheQuery() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", SIZE);
      v.close();
      assertThatThrownBy(() -> v.allocationDepth(0, SIZE)).isInstanceOf(io.vstore.blockstore.AlreadyClosedException.class);
    }
  }

  private static void closeQuietly(Volume v) {
    try {
      v.close();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
