package io.vstore.engine.move;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The verification pass on two volumes built apart: equal ones pass, a region that differs without
 * a client having written it since the switch fails naming it, and one a client rewrote after the
 * switch is skipped.
 */
class MoveVerificationTest {
  private static final int SIZE = 8 << 20;
  private static final int REGION = Mirror.REGION;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  private static void fill(Volume v, long offset, int length, int seed) throws Exception {
    byte[] b = new byte[length];
    Arrays.fill(b, (byte) seed);
    v.write(offset, ByteBuffer.wrap(b));
  }

  @Test
  void failsOnARegionThatDiffersAndSkipsOneRewrittenAfterTheSwitch(@TempDir Path dir) throws Exception {
    try (Datastore a = Datastore.create(dir.resolve("a"), options(), 0);
        Datastore b = Datastore.create(dir.resolve("b"), options(), 0)) {
      Volume src = a.createVolume("v", SIZE);
      Volume dst = b.createVolume("v", SIZE);
      for (int r = 0; r < SIZE / REGION; r += 2) {
        fill(src, (long) r * REGION + 4096, 8192, r + 1);
        fill(dst, (long) r * REGION + 4096, 8192, r + 1);
      }
      fill(dst, 4L * REGION + 4096, 512, 99); // region 4 differs
      src.flush();
      dst.flush();
      MoveRecord record = MoveRecord.start("v", a.path(), b.path(), SIZE, 0, false).switched(b.changeId("v"));
      VolumeMove.Listener quiet = (done, total) -> {};

      assertThatThrownBy(() -> MoveVerification.run(a, b, "v", dst, record, quiet))
          .isInstanceOf(CorruptDataException.class)
          .hasMessageContaining("region at " + 4L * REGION);

      // A client writes region 4 and region 6 after the switch: both are skipped, the rest compared.
      fill(dst, 4L * REGION, 4096, 7);
      fill(dst, 6L * REGION + 100_000, 10, 8);
      long[] r = MoveVerification.run(a, b, "v", dst, record, quiet);
      assertThat(r[1]).as("skipped").isEqualTo(2L * REGION);
      assertThat(r[0]).as("compared: regions 0 and 2").isEqualTo(2L * REGION);
      assertThat(r[2]).as("data at the switch").isEqualTo(4L * 8192);

      // The copy pass's checksum of the source stands for reading it: a right one passes, a wrong one fails.
      ByteBuffer region = ByteBuffer.allocateDirect(REGION);
      long right = MoveVerification.crc(src, 2L * REGION, REGION, region);
      long[] taken = MoveVerification.run(a, b, "v", dst, record, n -> n == 2 ? right : -1, quiet);
      assertThat(taken[0]).as("compared with the copy's checksum").isEqualTo(2L * REGION);
      assertThatThrownBy(() -> MoveVerification.run(a, b, "v", dst, record, n -> n == 2 ? right ^ 1 : -1, quiet))
          .isInstanceOf(CorruptDataException.class)
          .hasMessageContaining("region at " + 2L * REGION);
    }
  }
}
