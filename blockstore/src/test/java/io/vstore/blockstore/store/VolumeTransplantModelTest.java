package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.ModelRun;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random histories (writes, zeroing, discards, snapshots, snapshot deletions, reverts, flushes, pins) on a
 * source volume, then a transplant to another datastore with writes mirrored to both during the
 * head copy, as the mover does. After the switch every snapshot and the head read alike byte for
 * byte, snapshots keep names, creation times and change ids, the volume keeps its uuid, and every
 * snapshot's and pinned change id gets the same changed-areas answer as before the move, and after
 * further writes on the destination exactly that answer plus the blocks written. Both datastores
 * pass {@code datastore check}; the destination holds about what the source holds (sharing kept).
 */
final class VolumeTransplantModelTest {
  private static final int BLOCK = 4096;
  @TempDir Path dir;

  static LongStream seeds() {
    return ModelRun.seeds(12);
  }

  private static DatastoreOptions options(Random r) {
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO)
        .withMetadataCache(r.nextBoolean() ? 64 << 10 : DatastoreOptions.DEFAULT_METADATA_CACHE)
        .withFlushThreshold(10 + r.nextInt(300));
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void historyMovesWithTheVolume(long seed) {
    ModelRun.run(seed, this::oneRun);
  }

  private void oneRun(ModelRun run) throws IOException {
    Random r = run.random();
    long size = (long) BLOCK * (256 + r.nextInt(1024)) - (r.nextInt(4) == 0 ? 512 : 0);
    run.context("size " + size);
    try (Datastore a = Datastore.create(dir.resolve("a"), options(r), 0);
        Datastore b = Datastore.create(dir.resolve("b"), options(r), 0)) {
      Volume v = a.createVolume("vm", size);
      List<String> snapshots = new ArrayList<>();
      List<String> pinned = new ArrayList<>();
      int steps = 30 + r.nextInt(120);
      for (int step = 0; step < steps; step++) {
        int op = r.nextInt(100);
        if (op < 50) {
          int n = r.nextInt(3) == 0 ? 1 + r.nextInt(9000) : BLOCK * (1 + r.nextInt(64));
          long off = r.nextLong(size - n);
          if (r.nextBoolean()) {
            off -= off % BLOCK;
          }
          run.step(step, "write " + n + " at " + off);
          v.write(off, Workloads.data(r, n));
        } else if (op < 58) {
          long n = BLOCK * (1L + r.nextInt(40));
          long off = r.nextLong(size - n);
          run.step(step, (op < 54 ? "zero " : "discard ") + n + " at " + off);
          if (op < 54) {
            v.writeZeroes(off, n, false);
          } else {
            v.discard(off, n);
          }
        } else if (op < 72) {
          String name = "s" + step;
          run.step(step, "snapshot " + name);
          a.createSnapshot("vm", name);
          snapshots.add(name);
        } else if (op < 77 && !snapshots.isEmpty()) {
          String name = snapshots.remove(r.nextInt(snapshots.size()));
          run.step(step, "delete snapshot " + name);
          a.deleteSnapshot("vm", name);
        } else if (op < 80 && !snapshots.isEmpty()) {
          String name = snapshots.get(r.nextInt(snapshots.size()));
          run.step(step, "revert to " + name);
          a.revert("vm", name);
        } else if (op < 90) {
          run.step(step, "flush");
          v.flush();
        } else {
          run.step(step, "pin the head's change id");
          String id = a.volumeInfo("vm").changeId();
          a.pinChangeId(id, r.nextBoolean() ? null : "p" + step);
          pinned.add(id);
        }
      }
      run.finish("before the move");
      Map<String, List<Extent>> answers = answers(a, "vm", snapshots, pinned);
      List<SnapshotInfo> sourceSnapshots = a.snapshots("vm");
      VolumeInfo sourceInfo = a.volumeInfo("vm");

      run.finish("begin");
      VolumeTransplant t = VolumeTransplant.begin(a, "vm", b, TransplantOptions.defaults());
      assertThat(b.volumes()).as("an incoming volume is not listed").isEmpty();
      assertThat(b.hasVolume("vm")).isFalse();
      assertThat(VolumeTransplant.incoming(b)).hasSize(1);
      // The mover: writes to the source are mirrored, then the ranges changed since the newest snapshot are copied.
      BitSet mirrored = new BitSet();
      int mirroredWrites = r.nextInt(6);
      for (int i = 0; i < mirroredWrites; i++) {
        int n = BLOCK * (1 + r.nextInt(16));
        long off = BLOCK * r.nextLong((size - n) / BLOCK);
        ByteBuffer data = Workloads.data(r, n);
        v.write(off, data.duplicate());
        t.head().write(off, data);
        mirrored.set((int) (off / BLOCK), (int) ((off + n) / BLOCK));
      }
      copyHead(v, t);
      v.flush();
      run.finish("finish");
      t.finish("vm");
      t.close();

      run.finish("comparing after the move");
      assertThat(b.volumeInfo("vm").uuid()).isEqualTo(sourceInfo.uuid());
      assertThat(b.snapshots("vm")).usingRecursiveFieldByFieldElementComparatorIgnoringFields("allocated",
          "unique", "shared").isEqualTo(sourceSnapshots);
      try (Volume moved = b.volume("vm")) {
        assertSameContent(v, moved, size);
      }
      for (String s : snapshots) {
        try (Volume x = a.volume("vm@" + s); Volume y = b.volume("vm@" + s)) {
          assertSameContent(x, y, size);
        }
      }
      assertThat(answers(b, "vm", snapshots, pinned)).as("changed areas after the move")
          .isEqualTo(withBlocks(answers, mirrored, size, "vm"));
      assertThat(b.changePins("vm").stream().map(ChangePin::changeId).distinct().sorted().toList())
          .isEqualTo(pinned.stream().distinct().sorted().toList());
      assertThat(a.check().problems()).isEmpty();
      assertThat(b.check().problems()).isEmpty();
      long sourceBytes = a.volumeInfo("vm").allocated();
      long destBytes = b.volumeInfo("vm").allocated();
      assertThat(destBytes).as("destination bytes (source holds %d)", sourceBytes)
          .isLessThanOrEqualTo(sourceBytes + sourceBytes / 10 + 64 * 1024);

      run.finish("writing after the move");
      BitSet later = (BitSet) mirrored.clone();
      try (Volume moved = b.volume("vm")) {
        for (int i = 0; i < 1 + r.nextInt(5); i++) {
          int n = 1 + r.nextInt(20000);
          long off = r.nextLong(size - n);
          moved.write(off, Workloads.data(r, n));
          later.set((int) (off / BLOCK), (int) ((off + n + BLOCK - 1) / BLOCK));
          if (r.nextBoolean()) {
            moved.flush();
          }
        }
      }
      assertThat(answers(b, "vm", snapshots, pinned)).as("changed areas after writes on the destination")
          .isEqualTo(withBlocks(answers, later, size, "vm"));
      assertThat(b.check().problems()).isEmpty();
    }
  }

  /** Copies into the transplant's head what the source's head changed since its newest snapshot. */
  static void copyHead(Volume source, VolumeTransplant t) throws IOException {
    for (Extent e : t.headRangesToCopy()) {
      ByteBuffer data = ByteBuffer.allocate((int) e.length());
      source.read(e.offset(), data);
      t.head().write(e.offset(), data.flip());
    }
  }

  /**
   * Returns the changed areas of {@code volume} and each snapshot since every kept change id
   * (snapshots' and pinned), keyed by "device since id".
   */
  private static Map<String, List<Extent>> answers(Datastore d, String volume, List<String> snapshots,
      List<String> pinned) throws IOException {
    Map<String, List<Extent>> out = new LinkedHashMap<>();
    List<String> ids = new ArrayList<>(pinned);
    for (SnapshotInfo s : d.snapshots(volume)) {
      ids.add(s.changeId());
    }
    long size = d.volumeInfo(volume).size();
    List<String> devices = new ArrayList<>(List.of(volume));
    snapshots.forEach(s -> devices.add(volume + "@" + s));
    for (String device : devices) {
      for (String id : ids) {
        try {
          out.put(device + " since " + id, d.changedAreas(device, id, 0, size).extents());
        } catch (ChangeIdException e) {
          out.put(device + " since " + id, List.of(new Extent(0, 1, Extent.Kind.HOLE))); // refused: newer than the snapshot
        }
      }
    }
    return out;
  }

  /** Returns {@code answers} with {@code blocks} added to every answer about the head {@code volume}. */
  private static Map<String, List<Extent>> withBlocks(Map<String, List<Extent>> answers, BitSet blocks, long size,
      String volume) {
    Map<String, List<Extent>> out = new LinkedHashMap<>();
    answers.forEach((k, v) -> {
      if (!k.startsWith(volume + " since ") || blocks.isEmpty() || v.size() == 1 && v.getFirst().kind() == Extent.Kind.HOLE) {
        out.put(k, v);
        return;
      }
      BitSet all = (BitSet) blocks.clone();
      for (Extent e : v) {
        all.set((int) (e.offset() / BLOCK), (int) ((e.end() + BLOCK - 1) / BLOCK));
      }
      List<Extent> merged = new ArrayList<>();
      for (int i = all.nextSetBit(0); i >= 0; ) {
        int end = all.nextClearBit(i);
        long from = (long) i * BLOCK;
        long to = Math.min((long) end * BLOCK, size);
        merged.add(new Extent(from, to - from, Extent.Kind.DATA));
        i = all.nextSetBit(end);
      }
      out.put(k, merged);
    });
    return out;
  }

  static void assertSameContent(Volume expected, Volume actual, long size) throws IOException {
    ByteBuffer x = ByteBuffer.allocate((int) size);
    ByteBuffer y = ByteBuffer.allocate((int) size);
    expected.read(0, x);
    actual.read(0, y);
    for (int i = 0; i < size; i += BLOCK) {
      int n = (int) Math.min(BLOCK, size - i);
      if (!x.slice(i, n).equals(y.slice(i, n))) {
        throw new AssertionError(actual + " differs from " + expected + " in the block at byte " + i);
      }
    }
  }
}
