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

/** Renaming a volume: its data, snapshots, clones and open handles follow it, durably. */
final class VolumeRenameTest {
  @TempDir Path tmp;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO);
  }

  @Test
  void snapshotsClonesAndHandlesFollowTheNewNameAcrossAReopen() throws IOException {
    Path dir = tmp.resolve("ds");
    byte[] data = new byte[1 << 20];
    new Random(9).nextBytes(data);
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      Volume v = ds.createVolume("old", 4 << 20);
      v.write(0, ByteBuffer.wrap(data));
      ds.createSnapshot("old", "s1");
      ds.cloneSnapshot("old", "s1", List.of("c")).getFirst().close();
      ds.renameVolume("old", "new");
      assertThat(v.name()).isEqualTo("new");
      v.write(1 << 20, ByteBuffer.wrap(data)); // the handle opened under the old name still writes
      v.close();
      assertThat(ds.hasVolume("old")).isFalse();
      assertThat(ds.volumeInfo("c").parent()).isEqualTo("new@s1");
    }
    try (Datastore ds = Datastore.open(dir, options())) {
      assertThat(ds.volumes().stream().map(VolumeInfo::name)).containsExactly("c", "new");
      assertThat(ds.snapshots("new")).extracting(SnapshotInfo::name).containsExactly("s1");
      assertThat(ds.volumeInfo("c").parent()).isEqualTo("new@s1");
      byte[] back = new byte[1 << 20];
      try (Volume v = ds.volume("new@s1", true)) {
        v.read(0, ByteBuffer.wrap(back));
      }
      assertThat(back).isEqualTo(data);
      try (Volume v = ds.volume("new", true)) {
        v.read(1 << 20, ByteBuffer.wrap(back));
      }
      assertThat(back).isEqualTo(data);
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void aTakenOrBadNameIsRefused() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      ds.createVolume("a", 1 << 20).close();
      ds.createVolume("b", 1 << 20).close();
      assertThatThrownBy(() -> ds.renameVolume("a", "b")).isInstanceOf(DatastoreException.class)
          .hasMessageStartingWith("cannot rename volume a: volume b already exists");
      assertThatThrownBy(() -> ds.renameVolume("a", "x@y")).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> ds.renameVolume("nope", "z")).isInstanceOf(DatastoreException.class)
          .hasMessageStartingWith("no volume nope");
      assertThat(ds.volumes().stream().map(VolumeInfo::name)).containsExactly("a", "b");
    }
  }
}
