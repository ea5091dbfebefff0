package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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

  @Test
  void aBatchIsCheckedWholeBeforeAnythingIsDeleted() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), oneShot(), 0)) {
      try (Volume v = ds.createVolume("base", 4 << 20)) {
        v.write(0, random(5, 1 << 20));
      }
      ds.createSnapshot("base", "s");
      for (Volume c : ds.cloneSnapshot("base", "s", List.of("c1", "c2"))) {
        c.close();
      }
      ds.createVolume("plain", 4 << 20).close();

      assertThatThrownBy(() -> ds.deleteVolumes(List.of("plain", "c1", "base"), true))
          .isInstanceOf(DatastoreException.class)
          .hasMessage("cannot delete volume base: snapshot base@s has linked clones c2 (flatten or delete them first)");
      assertThatThrownBy(() -> ds.deleteVolumes(List.of("plain", "nope"), true))
          .isInstanceOf(DatastoreException.class).hasMessageStartingWith("no volume nope in datastore");
      assertThatThrownBy(() -> ds.deleteVolumes(List.of("plain", "c1", "plain"), true))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("cannot delete volumes [plain, c1, plain]: plain is named twice");
      assertThatThrownBy(() -> ds.deleteVolumes(List.of("plain", "base"), false))
          .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("cannot delete volume base: it has 1 snapshot base@s");
      ds.setDeletionGuard((volume, snapshot) -> {
        if (volume.equals("c2")) {
          throw new IllegalStateException("c2 is exported");
        }
      });
      assertThatThrownBy(() -> ds.deleteVolumes(List.of("plain", "c1", "c2"), true)).hasMessage("c2 is exported");
      ds.setDeletionGuard(DeletionGuard.NONE);
      assertThat(ds.volumes().stream().map(VolumeInfo::name)).containsExactly("base", "c1", "c2", "plain");

      ds.deleteVolumes(List.of(), true);
      ds.deleteVolumes(List.of("base", "c1", "plain", "c2"), true); // a parent may go with all its clones
      assertThat(ds.volumes()).isEmpty();
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void aBatchedDeleteIsDurableOnReturnAndFreesTheSpace() throws IOException {
    Path dir = tmp.resolve("ds");
    long used;
    try (Datastore ds = Datastore.create(dir, oneShot().withCleanerInterval(Duration.ofHours(1)), 0)) {
      try (Volume v = ds.createVolume("base", 8 << 20)) {
        v.write(0, random(6, 2 << 20));
      }
      ds.createSnapshot("base", "s");
      List<String> clones = List.of("d1", "d2", "d3", "d4");
      for (Volume c : ds.cloneSnapshot("base", "s", clones)) {
        c.write(1 << 20, random(c.name().hashCode(), 1 << 20));
        c.close();
      }
      used = ds.info().allocated();
      ds.deleteVolumes(clones, true);
      assertThat(ds.info().allocated()).isLessThan(used);
      ds.abandon(); // a crash right after the call returned
    }
    try (Datastore ds = Datastore.open(dir, oneShot())) {
      assertThat(ds.volumes().stream().map(VolumeInfo::name)).containsExactly("base");
      assertThat(ds.info().allocated()).isLessThan(used);
      assertThat(ds.check().problems()).isEmpty();
    }
  }
}
