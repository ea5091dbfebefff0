package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Planned reads, with their file reads done by the test, against a model and the plain read path. */
class ReadPlanTest {
  private static final int BLOCK = 4096;
  private static final int BLOCKS = 512;

  /** Scratch buffers from the heap allocator, counted so that the test sees each one come back. */
  private static final class CountingScratch implements ReadPlan.Scratch {
    int out;

    @Override
    public ByteBuffer acquire(int bytes) {
      out++;
      return ByteBuffer.allocateDirect(bytes);
    }

    @Override
    public void release(ByteBuffer buffer) {
      out--;
    }
  }

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  /** Does a plan's file reads the plain way, through the descriptors' /proc links. */
  private static int[] perform(ReadPlan plan) throws IOException {
    List<ReadPlan.FileRead> reads = plan.fileReads();
    int[] results = new int[reads.size()];
    for (int i = 0; i < reads.size(); i++) {
      ReadPlan.FileRead r = reads.get(i);
      try (FileChannel ch = FileChannel.open(Path.of("/proc/self/fd/" + r.fd()), StandardOpenOption.READ)) {
        ByteBuffer t = r.target().duplicate();
        int total = 0;
        for (int n; t.hasRemaining() && (n = ch.read(t, r.position() + total)) >= 0; ) {
          total += n;
        }
        results[i] = total;
      }
    }
    return results;
  }

  private static byte[] planned(Volume v, long offset, int length, CountingScratch scratch) throws IOException {
    ByteBuffer dst = ByteBuffer.allocateDirect(length);
    ReadPlan plan = v.planRead(offset, dst, scratch);
    assertThat(plan).as("read at %d length %d is plannable", offset, length).isNotNull();
    plan.finish(perform(plan));
    assertThat(dst.position()).isZero();
    byte[] got = new byte[length];
    dst.get(got);
    assertThat(plan.allocation()).isEqualTo(v.allocation(offset, length));
    return got;
  }

  @Test
  void plannedReadsMatchAModelThroughWritesFlushesSnapshotsAndCleaning(@TempDir Path dir) throws Exception {
    plannedReadsMatchAModel(dir, false);
  }

  @Test
  void plannedReadsOfAnEncryptedDatastoreMatchAModelToo(@TempDir Path dir) throws Exception {
    plannedReadsMatchAModel(dir, true);
  }

  private static void plannedReadsMatchAModel(Path dir, boolean encrypted) throws Exception {
    for (long seed = 1; seed <= 4; seed++) {
      Random rnd = new Random(seed);
      CountingScratch scratch = new CountingScratch();
      try (Datastore ds = Datastore.create(dir.resolve("ds" + seed),
          options().withKeys(encrypted ? EncryptedDatastoreTest.passphrase("plan") : null), 0, encrypted)) {
        Volume v = ds.createVolume("v", (long) BLOCKS * BLOCK);
        byte[] model = new byte[BLOCKS * BLOCK];
        byte[] snapModel = null;
        for (int step = 0; step < 300; step++) {
          int op = rnd.nextInt(10);
          int first = rnd.nextInt(BLOCKS);
          int count = 1 + rnd.nextInt(Math.min(40, BLOCKS - first));
          if (op < 5) {
            byte[] data = new byte[count * BLOCK];
            if (rnd.nextBoolean()) {
              rnd.nextBytes(data);
            } else {
              Arrays.fill(data, (byte) rnd.nextInt(4)); // compresses: exercises inflated chunks
            }
            v.write((long) first * BLOCK, ByteBuffer.wrap(data));
            System.arraycopy(data, 0, model, first * BLOCK, data.length);
          } else if (op == 5) {
            v.writeZeroes((long) first * BLOCK, (long) count * BLOCK, rnd.nextBoolean());
            Arrays.fill(model, first * BLOCK, (first + count) * BLOCK, (byte) 0);
          } else if (op == 6) {
            v.flush();
          } else if (op == 7 && snapModel == null) {
            ds.createSnapshot("v", "s");
            snapModel = model.clone();
          } else if (op == 8) {
            ds.clean();
          }
          int at = rnd.nextInt(BLOCKS);
          int len = (1 + rnd.nextInt(Math.min(32, BLOCKS - at))) * BLOCK;
          assertThat(planned(v, (long) at * BLOCK, len, scratch))
              .as("seed %d step %d: blocks %d+%d", seed, step, at, len / BLOCK)
              .isEqualTo(Arrays.copyOfRange(model, at * BLOCK, at * BLOCK + len));
          if (snapModel != null) {
            try (Volume s = ds.volume("v@s")) {
              assertThat(planned(s, (long) at * BLOCK, len, scratch))
                  .as("seed %d step %d: snapshot blocks %d+%d", seed, step, at, len / BLOCK)
                  .isEqualTo(Arrays.copyOfRange(snapModel, at * BLOCK, at * BLOCK + len));
            }
          }
        }
        assertThat(scratch.out).as("scratch buffers not given back").isZero();
        assertThat(ds.check().problems()).isEmpty();
      }
    }
  }

  @Test
  void aPlanReadsTheRightBytesAfterTheCleanerDeletedItsSegment(@TempDir Path dir) throws Exception {
    DatastoreOptions small = options().withSegmentBytes(4 << 20);
    try (Datastore ds = Datastore.create(dir.resolve("ds"), small, 0)) {
      Volume v = ds.createVolume("v", 8L << 20);
      Random rnd = new Random(7);
      byte[] keep = new byte[BLOCK];
      rnd.nextBytes(keep);
      v.write(0, ByteBuffer.wrap(keep));
      byte[] filler = new byte[256 * BLOCK];
      rnd.nextBytes(filler);
      v.write(BLOCK, ByteBuffer.wrap(filler));
      v.flush();
      // Overwrite the filler several times: the first segment becomes mostly dead, the cleaner's victim.
      for (int i = 0; i < 8; i++) {
        rnd.nextBytes(filler);
        v.write(BLOCK, ByteBuffer.wrap(filler));
        v.flush();
      }
      ByteBuffer dst = ByteBuffer.allocateDirect(BLOCK);
      ReadPlan plan = v.planRead(0, dst, new CountingScratch());
      assertThat(plan.fileReads()).hasSize(1);
      int fd = plan.fileReads().getFirst().fd();
      Path segments = dir.resolve("ds").resolve("segments");
      long before;
      try (Stream<Path> s = Files.list(segments)) {
        before = s.count();
      }
      assertThat(ds.clean().segmentsCleaned()).as("the cleaner deleted segments").isPositive();
      try (Stream<Path> s = Files.list(segments)) {
        assertThat(s.count()).isLessThan(before);
      }
      assertThat(Files.exists(Path.of("/proc/self/fd/" + fd))).as("descriptor kept open for the plan").isTrue();
      plan.finish(perform(plan));
      byte[] got = new byte[BLOCK];
      dst.get(got);
      assertThat(got).isEqualTo(keep);
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  /**
   * Planned reads race writers, flushes, the cleaner and the defragmenter: every block read back must be one that
   * was written to that place (each block carries its own index and a version), never a block of
   * another place, a stale file page or garbage, and the segments a plan holds must stay readable
   * while the cleaner deletes them.
   */
  @Test
  void plannedReadsRacingWritesAndTheCleanerReadWhatWasWrittenThere(@TempDir Path dir) throws Exception {
    DatastoreOptions small = options().withSegmentBytes(4 << 20);
    int blocks = 256;
    try (Datastore ds = Datastore.create(dir.resolve("ds"), small, 0)) {
      Volume v = ds.createVolume("v", (long) blocks * BLOCK);
      for (int b = 0; b < blocks; b++) {
        v.write((long) b * BLOCK, ByteBuffer.wrap(stamped(b, 0)));
      }
      v.flush();
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
      try {
        java.util.concurrent.Future<?> writer = pool.submit(() -> {
          Random rnd = new Random(5);
          for (int version = 1; !stop.get(); version++) {
            int b = rnd.nextInt(blocks);
            v.write((long) b * BLOCK, ByteBuffer.wrap(stamped(b, version)));
            if (version % 97 == 0) {
              v.flush();
            }
          }
          return null;
        });
        java.util.concurrent.Future<?> cleaner = pool.submit(() -> {
          while (!stop.get()) {
            ds.clean();
            v.state().writer().defragment(0, blocks, 2); // writes the range back in order under the writer's feet
          }
          return null;
        });
        Random rnd = new Random(6);
        CountingScratch scratch = new CountingScratch();
        int rounds = "true".equals(System.getenv("CI")) ? 1500 : 4000;
        for (int i = 0; i < rounds; i++) {
          int first = rnd.nextInt(blocks - 8);
          int count = 1 + rnd.nextInt(8);
          ByteBuffer dst = ByteBuffer.allocateDirect(count * BLOCK);
          ReadPlan plan = v.planRead((long) first * BLOCK, dst, scratch);
          if (i % 3 == 0) {
            Thread.yield(); // let the cleaner move and delete what the plan points at
          }
          plan.finish(perform(plan));
          for (int k = 0; k < count; k++) {
            ByteBuffer block = dst.slice(k * BLOCK, BLOCK);
            assertThat(block.getInt(0)).as("round %d: block %d holds the index of the place it was written to", i, first + k)
                .isEqualTo(first + k);
            int version = block.getInt(4);
            byte[] got = new byte[BLOCK];
            block.get(0, got);
            assertThat(got).as("round %d: block %d version %d intact", i, first + k, version)
                .isEqualTo(stamped(first + k, version));
          }
        }
        stop.set(true);
        writer.get(60, java.util.concurrent.TimeUnit.SECONDS);
        cleaner.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(scratch.out).isZero();
      } finally {
        stop.set(true);
        pool.shutdownNow();
      }
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  /** A block for place {@code index}, version {@code version}: both stamped in front, a pattern after. */
  private static byte[] stamped(int index, int version) {
    ByteBuffer b = ByteBuffer.allocate(BLOCK);
    b.putInt(index).putInt(version);
    Random r = new Random(index * 1_000_003L + version);
    byte[] rest = new byte[BLOCK - 8];
    r.nextBytes(rest);
    return b.put(rest).array();
  }

  @Test
  void aDamagedBlockFailsThePlanWithAChecksumError(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", 1 << 20);
      byte[] data = new byte[BLOCK];
      new Random(3).nextBytes(data);
      v.write(0, ByteBuffer.wrap(data));
      v.flush();
      Path segment;
      try (Stream<Path> s = Files.list(dir.resolve("ds").resolve("segments"))) {
        segment = s.filter(p -> p.toString().endsWith(".seg")).findFirst().orElseThrow();
      }
      byte[] bytes = Files.readAllBytes(segment);
      int at = indexOf(bytes, data);
      assertThat(at).as("block found in its segment").isPositive();
      try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {(byte) ~data[100]}), at + 100);
      }
      CountingScratch scratch = new CountingScratch();
      ByteBuffer dst = ByteBuffer.allocateDirect(BLOCK);
      ReadPlan plan = v.planRead(0, dst, scratch);
      int[] results = perform(plan);
      assertThatThrownBy(() -> plan.finish(results)).isInstanceOf(CorruptDataException.class).hasMessageContaining("checksum");
      assertThat(scratch.out).isZero();
      ReadPlan failed = v.planRead(0, ByteBuffer.allocateDirect(BLOCK), scratch);
      int[] errno = new int[failed.fileReads().size()];
      Arrays.fill(errno, -5);
      assertThatThrownBy(() -> failed.finish(errno)).isInstanceOf(IOException.class).hasMessageContaining("errno 5");
      assertThat(scratch.out).isZero();
    }
  }

  @Test
  void theStoredChunksOfARecordAreReadInOneFileReadAndSeparateRecordsInTheirOwn(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", 1 << 20);
      byte[] data = new byte[64 * BLOCK];
      Random rnd = new Random(11);
      rnd.nextBytes(data); // incompressible: four stored chunks of 16 blocks
      v.write(0, ByteBuffer.wrap(data));
      byte[] patch = new byte[BLOCK];
      rnd.nextBytes(patch);
      v.write(40L * BLOCK, ByteBuffer.wrap(patch)); // a record of its own in the middle
      System.arraycopy(patch, 0, data, 40 * BLOCK, BLOCK);
      v.flush();
      CountingScratch scratch = new CountingScratch();
      ByteBuffer dst = ByteBuffer.allocateDirect(64 * BLOCK);
      ReadPlan plan = v.planRead(0, dst, scratch);
      // blocks 0-39 (chunks 0, 1 and half of 2) in one read, block 40 with its header, blocks 41-63 in one read
      assertThat(plan.fileReads()).hasSize(3);
      assertThat(plan.fileReads()).extracting(r -> r.target().remaining()).contains(40 * BLOCK, 23 * BLOCK);
      // The 64-block record was laid out with its stored data on page boundaries.
      assertThat(plan.fileReads()).filteredOn(r -> r.target().remaining() >= 23 * BLOCK)
          .allSatisfy(r -> assertThat(r.position() % BLOCK).as("data offset in the file").isZero());
      plan.finish(perform(plan));
      byte[] got = new byte[64 * BLOCK];
      dst.get(got);
      assertThat(got).isEqualTo(data);
      assertThat(scratch.out).isZero();
    }
  }

  @Test
  void readsThatAreNotWholeBlocksOrGoToTheHeapAreNotPlanned(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", 1 << 20);
      CountingScratch scratch = new CountingScratch();
      assertThat(v.plansReads()).isTrue();
      assertThat(v.planRead(512, ByteBuffer.allocateDirect(BLOCK), scratch)).isNull();
      assertThat(v.planRead(0, ByteBuffer.allocateDirect(100), scratch)).isNull();
      assertThat(v.planRead(0, ByteBuffer.allocate(BLOCK), scratch)).isNull();
      ReadPlan holes = v.planRead(0, ByteBuffer.allocateDirect(2 * BLOCK), scratch);
      assertThat(holes.fileReads()).isEmpty();
      assertThat(holes.allocation()).containsExactly(new Extent(0, 2 * BLOCK, Extent.Kind.HOLE));
      holes.finish(new int[0]);
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
