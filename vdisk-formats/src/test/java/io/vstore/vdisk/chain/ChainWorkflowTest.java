package io.vstore.vdisk.chain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chain import and export against a real datastore and qcow2 chains written by this library. */
final class ChainWorkflowTest {
  private static final int SIZE = 8 << 20;

  @TempDir Path tmp;

  private Datastore datastore() throws IOException {
    return Datastore.create(tmp.resolve("ds"), DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO), 0);
  }

  /** Records the largest progress seen and checks that it never passes the total. */
  private static final class Recorder implements ChainProgress {
    final AtomicLong max = new AtomicLong(-1);
    final AtomicLong total = new AtomicLong(-1);

    @Override
    public void progressed(long done, long all) {
      assertThat(done).isBetween(0L, all);
      total.set(all);
      max.accumulateAndGet(done, Math::max);
    }
  }

  private static void fill(BlockDevice d, long offset, int length, int seed) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    for (int i = 0; i < length; i++) {
      b.put((byte) (seed * 31 + i * 7 + (i >> 9)));
    }
    d.write(offset, b.flip());
  }

  private static byte[] contents(BlockDevice d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) d.size());
    d.read(0, b);
    return b.array();
  }

  private static byte[] contents(Datastore ds, String spec) throws IOException {
    try (Volume v = ds.volume(spec, true)) {
      return contents(v);
    }
  }

  @Test
  void aBackingChainBecomesSnapshotsAndTheHead() throws IOException {
    Path base = tmp.resolve("base.qcow2");
    Path mid = tmp.resolve("mid.qcow2");
    Path top = tmp.resolve("top.qcow2");
    byte[][] expected = new byte[3][];
    try (DiskImage b = ImageFormats.create(base, "qcow2", SIZE, CreateOptions.none())) {
      fill(b, 0, 3 << 20, 1);
      fill(b, 6 << 20, 4096, 2);
      b.flush();
      expected[0] = contents(b);
    }
    try (DiskImage m = ImageFormats.create(mid, "qcow2", SIZE, new CreateOptions(Map.of(), "base.qcow2", "qcow2"))) {
      fill(m, 1 << 20, 65536, 3);
      m.writeZeroes(6 << 20, 4096, false); // zeros that must hide the base's data
      m.flush();
      expected[1] = contents(m);
    }
    try (DiskImage t = ImageFormats.create(top, "qcow2", SIZE, new CreateOptions(Map.of(), "mid.qcow2", "qcow2"))) {
      fill(t, (7 << 20) + 512, 4097, 4);
      t.flush();
      expected[2] = contents(t);
    }
    Recorder progress = new Recorder();
    try (Datastore ds = datastore(); DiskImage t = ImageFormats.open(top, true)) {
      List<String> snapshots = ChainImport.run(ds, "vm", t, progress);

      assertThat(snapshots).containsExactly("base.qcow2", "mid.qcow2");
      assertThat(contents(ds, "vm@base.qcow2")).isEqualTo(expected[0]);
      assertThat(contents(ds, "vm@mid.qcow2")).isEqualTo(expected[1]);
      assertThat(contents(ds, "vm")).isEqualTo(expected[2]);
      assertThat(progress.total.get()).isEqualTo(3L * SIZE);
      assertThat(progress.max.get()).isEqualTo(3L * SIZE);
      // Each level above the base adds only what differs from the level below.
      String midId = ds.snapshots("vm").get(1).changeId();
      assertThat(ds.changedAreas("vm", midId, 0, SIZE).extents()).hasSize(1);
    }
  }

  @Test
  void anExistingVolumeIsNeitherOverwrittenNorDeleted() throws IOException {
    Path file = tmp.resolve("one.qcow2");
    try (DiskImage img = ImageFormats.create(file, "qcow2", SIZE, CreateOptions.none())) {
      fill(img, 0, 4096, 5);
    }
    try (Datastore ds = datastore(); DiskImage img = ImageFormats.open(file, true)) {
      ds.createVolume("vm", 1 << 20).close();
      assertThatThrownBy(() -> ChainImport.run(ds, "vm", img, ChainProgress.NONE)).isInstanceOf(IOException.class);
      assertThat(ds.volumeInfo("vm").size()).isEqualTo(1 << 20);
    }
  }

  @Test
  void aVolumeWithSnapshotsExportsAsDeltaImagesThatReadAsEachLevel() throws IOException {
    Path top = tmp.resolve("out").resolve("disk.qcow2");
    Files.createDirectories(top.getParent());
    Recorder progress = new Recorder();
    try (Datastore ds = datastore()) {
      try (Volume v = ds.createVolume("vm", SIZE)) {
        fill(v, 0, 2 << 20, 1);
        v.flush();
      }
      ds.createSnapshot("vm", "one");
      try (Volume v = ds.volume("vm")) {
        fill(v, 5 << 20, 8192, 2);
        v.writeZeroes(0, 65536, false);
        v.flush();
      }
      ds.createSnapshot("vm", "two");
      try (Volume v = ds.volume("vm")) {
        fill(v, 7 << 20, 100, 3);
        v.flush();
      }

      List<Path> files = ChainExport.run(ds, "vm", top, "qcow2", Map.of(), progress);

      assertThat(files).containsExactly(ChainExport.levelFile(top, "one"), ChainExport.levelFile(top, "two"), top);
      assertThat(files.get(0).getFileName()).hasToString("disk-one.qcow2");
      String[] specs = {"vm@one", "vm@two", "vm"};
      for (int i = 0; i < files.size(); i++) {
        try (DiskImage img = ImageFormats.open(files.get(i), true)) {
          assertThat(contents(img)).as("%s reads as %s", files.get(i), specs[i]).isEqualTo(contents(ds, specs[i]));
          assertThat(img.info().backingFile())
              .isEqualTo(i == 0 ? null : files.get(i - 1).getFileName().toString());
        }
      }
      assertThat(Files.size(top)).as("the head holds only its own change").isLessThan(1 << 20);
      assertThat(progress.total.get()).isEqualTo(3L * SIZE);
      assertThat(progress.max.get()).isEqualTo(3L * SIZE);
    }
  }

  @Test
  void exportRefusesToOverwriteAndLeavesNoPartialChain() throws IOException {
    Path top = tmp.resolve("disk.qcow2");
    try (Datastore ds = datastore()) {
      ds.createVolume("vm", SIZE).close();
      ds.createSnapshot("vm", "one");
      Files.writeString(top, "mine");
      assertThatThrownBy(() -> ChainExport.run(ds, "vm", top, "qcow2", Map.of(), ChainProgress.NONE))
          .isInstanceOf(IllegalArgumentException.class).hasMessage("will not overwrite " + top + ": it exists");
      assertThat(Files.readString(top)).isEqualTo("mine");
      assertThat(ChainExport.levelFile(top, "one")).doesNotExist();
    }
  }

  @Test
  void levelFilesSitBesideTheTopWithTheSnapshotName() {
    assertThat(ChainExport.levelFile(Path.of("/x/disk.vmdk"), "monday")).isEqualTo(Path.of("/x/disk-monday.vmdk"));
    assertThat(ChainExport.levelFile(Path.of("disk"), "s1")).isEqualTo(Path.of("disk-s1"));
    assertThat(ChainExport.levelFile(Path.of(".hidden"), "s")).isEqualTo(Path.of(".hidden-s"));
  }
}
