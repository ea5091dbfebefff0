package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opening a datastore after a crash in the middle of creating a segment: every state the segment
 * file can be left in (empty, part of a header, a header lost or torn by a power cut) is removed
 * when nothing references it, so that {@code check} is clean; a referenced segment with a bad
 * header is kept and reported. Regression test for the kill -9 loop's iteration 265 (seed 7265).
 */
final class SegmentRecoveryTest {
  private static final int MIB = 1 << 20;
  @TempDir Path tmp;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(2L * MIB).withCleanerInterval(Duration.ZERO);
  }

  private static ByteBuffer random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  /**
   * Makes a closed datastore whose segment counter is past ids that have no file (the cleaner
   * deleted them), as after a flush that committed the counter of a segment just started.
   * Returns the free ids below the counter.
   */
  private List<Long> datastoreWithFreeIds(Path dir) throws IOException {
    TreeMap<Long, Long> before;
    TreeMap<Long, Long> after;
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      var v = ds.createVolume("v", 16L * MIB);
      for (int i = 0; i < 6; i++) {
        v.write((long) i * MIB, random(i, MIB));
      }
      v.flush();
      before = ds.segments().sizes();
      v.discard(0, 6L * MIB);
      v.write(0, random(99, 4096)); // one live record, in the newest segment
      v.flush();
      ds.segments().sealCurrent();
      ds.clean();
      after = ds.segments().sizes();
      assertThat(ds.check().problems()).isEmpty();
    }
    List<Long> free = before.keySet().stream().filter(id -> !after.containsKey(id)).toList();
    assertThat(free).as("segments the cleaner deleted").hasSizeGreaterThanOrEqualTo(3);
    return free;
  }

  private static Path segment(Path dir, long id) {
    return dir.resolve("segments").resolve(String.format("%016x.seg", id));
  }

  @Test
  void segmentsLeftWithoutACompleteHeaderAreRemovedOnOpen() throws IOException {
    Path dir = tmp.resolve("ds");
    List<Long> free = datastoreWithFreeIds(dir);
    byte[] real;
    try (Datastore ds = Datastore.open(dir, options())) {
      real = Files.readAllBytes(segment(dir, ds.segments().sizes().firstKey()));
    }
    // Created, nothing written: the state kill -9 left segment 0x112d in.
    Files.write(segment(dir, free.get(0)), new byte[0]);
    // Part of the header written.
    Files.write(segment(dir, free.get(1)), Arrays.copyOf(real, 37));
    // A power cut lost the unsynced header but kept a later block: zeros where the header was.
    byte[] lostHeader = new byte[3 * 4096];
    random(7, 8192).get(lostHeader, 4096, 8192);
    Files.write(segment(dir, free.get(2)), lostHeader);
    if (free.size() > 3) {
      // A torn header: its first half written, the rest (the checksum with it) lost.
      byte[] torn = Arrays.copyOf(real, 4096);
      Arrays.fill(torn, 32, 4096, (byte) 0);
      Files.write(segment(dir, free.get(3)), torn);
    }
    try (Datastore ds = Datastore.open(dir, options())) {
      for (long id : free) {
        assertThat(segment(dir, id)).as("segment %d", id).doesNotExist();
        assertThat(ds.segments().sizes()).doesNotContainKey(id);
      }
      assertThat(ds.check().problems()).isEmpty();
      var v = ds.volume("v");
      ByteBuffer got = ByteBuffer.allocate(4096);
      v.read(0, got);
      assertThat(got.flip()).isEqualTo(random(99, 4096));
      // New segments are appended after the counter, not over the removed ids.
      v.write(4096, random(100, 4096));
      v.flush();
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void aReferencedSegmentWithABadHeaderIsKeptAndReported() throws IOException {
    Path dir = tmp.resolve("ds");
    datastoreWithFreeIds(dir);
    long live;
    try (Datastore ds = Datastore.open(dir, options())) {
      live = ds.segments().sizes().lastKey();
    }
    byte[] bytes = Files.readAllBytes(segment(dir, live));
    Arrays.fill(bytes, 0, SegmentFiles.HEADER_BYTES, (byte) 0);
    Files.write(segment(dir, live), bytes);
    try (Datastore ds = Datastore.open(dir, options())) {
      assertThat(segment(dir, live)).exists();
      assertThat(ds.check().problems()).anySatisfy(p -> assertThat(p).startsWith("bad segment: ")
          .contains(segment(dir, live).toString()));
    }
  }

  @Test
  void segmentsPastTheCommittedCounterAreRemovedOnOpen() throws IOException {
    Path dir = tmp.resolve("ds");
    datastoreWithFreeIds(dir);
    long next;
    try (Datastore ds = Datastore.open(dir, options())) {
      next = ds.segments().nextId();
    }
    byte[] real;
    try (Datastore ds = Datastore.open(dir, options())) {
      real = Files.readAllBytes(segment(dir, ds.segments().sizes().lastKey()));
    }
    Files.write(segment(dir, next), real); // whole, even: no commit refers to it
    Files.write(segment(dir, next + 1), new byte[0]);
    try (Datastore ds = Datastore.open(dir, options())) {
      assertThat(segment(dir, next)).doesNotExist();
      assertThat(segment(dir, next + 1)).doesNotExist();
      assertThat(ds.check().problems()).isEmpty();
    }
  }
}
