package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deleting volumes: snapshots are not deleted unless asked, and a one-shot handle gives the space back on close. */
final class VolumeDeleteTest {
  @TempDir Path tmp;

  private static DatastoreOptions oneShot() {
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO);
  }

  private static ByteBuffer random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  @Test
  void aVolumeWithSnapshotsIsDeletedOnlyRecursivelyAndTheRefusalNamesThem() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), oneShot(), 0)) {
      try (Volume v = ds.createVolume("vm1", 4 << 20)) {
        v.write(0, random(1, 1 << 20));
      }
      ds.createSnapshot("vm1", "a");
      ds.createSnapshot("vm1", "b");
      assertThatThrownBy(() -> ds.deleteVolume("vm1")).isInstanceOf(IllegalStateException.class)
          .hasMessage("cannot delete volume vm1: it has 2 snapshots vm1@a, vm1@b"
              + " (delete them first, or delete the volume recursively: -r, recursive=true)");
      assertThat(ds.hasVolume("vm1")).isTrue();
      assertThat(ds.snapshots("vm1")).hasSize(2);
      ds.deleteVolume("vm1", true);
      assertThat(ds.hasVolume("vm1")).isFalse();
    }
  }

  @Test
  void closingAOneShotHandleReclaimsWhatItsDeletesFreed() throws IOException {
    Path dir = tmp.resolve("ds");
    try (Datastore ds = Datastore.create(dir, oneShot(), 0)) {
      try (Volume v = ds.createVolume("big", 16 << 20)) {
        v.write(0, random(2, 6 << 20));
      }
    }
    long used;
    try (Datastore ds = Datastore.open(dir, oneShot())) {
      used = ds.info().used();
      assertThat(used).isGreaterThan(6L << 20);
      ds.deleteVolume("big");
    }
    try (Datastore ds = Datastore.open(dir, oneShot())) {
      assertThat(ds.info().used()).isLessThan(used / 4);
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void closingWithoutFreeingAnythingLeavesSegmentsAlone() throws IOException {
    Path dir = tmp.resolve("ds");
    try (Datastore ds = Datastore.create(dir, oneShot(), 0)) {
      try (Volume v = ds.createVolume("a", 16 << 20)) {
        v.write(0, random(3, 3 << 20));
        v.write(0, random(4, 3 << 20)); // overwritten: dead space, but not freed by a delete in the next session
      }
    }
    long used;
    try (Datastore ds = Datastore.open(dir, oneShot())) {
      used = ds.info().used();
    }
    try (Datastore ds = Datastore.open(dir, oneShot())) {
      assertThat(ds.info().used()).isEqualTo(used);
    }
  }
}
