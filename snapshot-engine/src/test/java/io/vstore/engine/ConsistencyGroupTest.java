package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer stamps sequence number n on disk 0, then on disk 1, then n + 1, and so on, while VM
 * snapshots are taken. A consistency group captures both disks at one instant, so in every
 * snapshot disk 1 holds n and disk 0 holds n or n + 1 (never more: that would mean disk 0 was
 * captured later than disk 1; never less: the writes are dependent).
 */
@Tag("slow")
final class ConsistencyGroupTest {
  private static final int SNAPSHOTS = "true".equals(System.getenv("CI")) ? 20 : 60;
  @TempDir Path tmp;

  @Test
  void everyVmSnapshotCapturesBothDisksAtTheSameInstant() throws Exception {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("db", List.of(1L << 20, 1L << 20), null);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong written = new AtomicLong();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread writer = Thread.ofVirtual().start(() -> {
        try (Volume a = f.store.volume("db-disk0"); Volume b = f.store.volume("db-disk1")) {
          for (long n = 1; !stop.get(); n++) {
            a.write(0, stamp(n));
            b.write(0, stamp(n));
            written.set(n);
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      });
      for (int i = 0; i < SNAPSHOTS; i++) {
        while (written.get() < 10L * (i + 1) && failure.get() == null) {
          Thread.onSpinWait();
        }
        f.vms().snapshot("db", "s" + i, "");
      }
      stop.set(true);
      writer.join();
      assertThat(failure.get()).isNull();
      long last = -1;
      for (int i = 0; i < SNAPSHOTS; i++) {
        long a = read(f, "db-disk0@s" + i);
        long b = read(f, "db-disk1@s" + i);
        assertThat(a).as("snapshot s" + i + ": disk 0 holds %d, disk 1 holds %d", a, b).isBetween(b, b + 1);
        assertThat(b).as("snapshots are ordered").isGreaterThanOrEqualTo(last);
        last = b;
      }
      assertThat(last).isPositive();
    }
  }

  private static ByteBuffer stamp(long n) {
    return ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
  }

  private static long read(Fixture f, String spec) throws IOException {
    return ByteBuffer.wrap(f.read(spec, 0, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }
}
