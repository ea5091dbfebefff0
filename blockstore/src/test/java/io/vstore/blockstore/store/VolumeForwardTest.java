package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.Extent;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Head handles that forward to a volume of another datastore: the mover's switch-over. */
class VolumeForwardTest {
  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  private static ByteBuffer filled(int length, int value) {
    byte[] b = new byte[length];
    Arrays.fill(b, (byte) value);
    return ByteBuffer.wrap(b);
  }

  @Test
  void everyHeadHandleServesTheTargetAlsoAfterItsVolumeIsDeleted(@TempDir Path dir) throws Exception {
    try (Datastore a = Datastore.create(dir.resolve("a"), options(), 0);
        Datastore b = Datastore.create(dir.resolve("b"), options(), 0);
        Volume src = a.createVolume("v", 1 << 20);
        Volume dst = b.createVolume("v", 1 << 20)) {
      src.write(0, filled(4096, 1));
      a.createSnapshot("v", "s");
      dst.write(0, filled(4096, 2));
      try (Volume earlier = a.volume("v"); Volume snap = a.volume("v@s")) {
        a.forwardHandles("v", dst);
        ByteBuffer got = ByteBuffer.allocate(1);
        earlier.read(0, got);
        assertThat(got.get(0)).isEqualTo((byte) 2);
        earlier.write(8192, filled(4096, 3));
        earlier.writeZeroes(0, 4096, true);
        earlier.flush();
        assertThat(dst.allocation(0, 12288)).containsExactly(new Extent(0, 8192, Extent.Kind.HOLE),
            new Extent(8192, 4096, Extent.Kind.DATA));
        got.clear();
        snap.read(0, got); // a snapshot stays where it is
        assertThat(got.get(0)).isEqualTo((byte) 1);
        ByteBuffer old = ByteBuffer.allocate(1);
        src.read(8192, old);
        assertThat(old.get(0)).isEqualTo((byte) 3);
      }
      a.deleteVolume("v", true);
      src.write(4096, filled(512, 4)); // the handle outlives its volume
      ByteBuffer got = ByteBuffer.allocate(1);
      dst.read(4096, got);
      assertThat(got.get(0)).isEqualTo((byte) 4);
      assertThatThrownBy(() -> b.forwardHandles("v", dst)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("itself");
    }
  }
}
