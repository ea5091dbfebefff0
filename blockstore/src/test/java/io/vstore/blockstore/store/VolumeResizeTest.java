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

/** Resizing a volume: growth reads as zeros, shrinking drops the tail and is asked for, snapshots block it. */
final class VolumeResizeTest {
  @TempDir Path tmp;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO);
  }

  @Test
  void growShrinkAndReopen() throws IOException {
    Path dir = tmp.resolve("ds");
    byte[] data = new byte[1 << 20];
    new Random(11).nextBytes(data);
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      try (Volume v = ds.createVolume("v", 2 << 20)) {
        v.write(0, ByteBuffer.wrap(data));
        v.write(1 << 20, ByteBuffer.wrap(data));
      }
      ds.resizeVolume("v", 8 << 20, false);
      try (Volume v = ds.volume("v")) {
        assertThat(v.size()).isEqualTo(8 << 20);
        byte[] tail = new byte[1 << 20];
        v.read(7 << 20, ByteBuffer.wrap(tail));
        assertThat(tail).containsOnly(0);
        v.write(7 << 20, ByteBuffer.wrap(data)); // the new space takes writes
      }
      assertThatThrownBy(() -> ds.resizeVolume("v", 1 << 20, false)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("cannot shrink volume v from 8388608 to 1048576 bytes without allowing it");
      ds.resizeVolume("v", 1 << 20, true);
      assertThat(ds.volumeInfo("v").size()).isEqualTo(1 << 20);
      assertThat(ds.volumeInfo("v").mapped()).isEqualTo(1 << 20);
      assertThat(ds.check().problems()).isEmpty();
    }
    try (Datastore ds = Datastore.open(dir, options())) {
      assertThat(ds.volumeInfo("v").size()).isEqualTo(1 << 20);
      ds.resizeVolume("v", 4 << 20, false);
      byte[] back = new byte[4 << 20];
      try (Volume v = ds.volume("v", true)) {
        v.read(0, ByteBuffer.wrap(back));
      }
      assertThat(java.util.Arrays.copyOf(back, 1 << 20)).isEqualTo(data);
      assertThat(java.util.Arrays.copyOfRange(back, 1 << 20, 4 << 20)).containsOnly(0); // the dropped tail stays gone
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void snapshotsShareTheSizeAndBlockResizing() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      ds.createVolume("v", 1 << 20).close();
      ds.createSnapshot("v", "s");
      assertThatThrownBy(() -> ds.resizeVolume("v", 2 << 20, false)).isInstanceOf(IllegalStateException.class)
          .hasMessage("cannot resize volume v: its snapshots v@s share its size (delete them first)");
      assertThatThrownBy(() -> ds.resizeVolume("v", 1000, false)).isInstanceOf(IllegalArgumentException.class);
      assertThat(ds.volumeInfo("v").size()).isEqualTo(1 << 20);
    }
  }
}
