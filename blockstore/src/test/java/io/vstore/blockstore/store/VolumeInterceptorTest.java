package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.VolumeInterceptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a {@link VolumeInterceptor} sees of a volume's head, and when a swap takes effect. */
class VolumeInterceptorTest {
  /** Records each call, then applies the volume's own operation; a shared list, read by the test thread. */
  private static class Recording implements VolumeInterceptor {
    final List<String> calls = new ArrayList<>();

    @Override
    public void write(long offset, ByteBuffer src, Local local) throws IOException {
      byte first = src.get(src.position());
      int length = src.remaining();
      local.apply();
      synchronized (this) {
        calls.add("write " + offset + " " + length + " " + first + " left " + src.remaining());
      }
    }

    @Override
    public void zero(long offset, long length, boolean discard, Local local) throws IOException {
      local.apply();
      synchronized (this) {
        calls.add((discard ? "discard " : "zero ") + offset + " " + length);
      }
    }

    @Override
    public void flush(Local local) throws IOException {
      local.apply();
      synchronized (this) {
        calls.add("flush");
      }
    }

    synchronized List<String> calls() {
      return List.copyOf(calls);
    }
  }

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  private static ByteBuffer filled(int length, int value) {
    byte[] b = new byte[length];
    Arrays.fill(b, (byte) value);
    return ByteBuffer.wrap(b);
  }

  private static byte at(Volume v, long offset) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(1);
    v.read(offset, b);
    return b.get(0);
  }

  @Test
  void seesEveryHeadChangeThroughEveryHandleAndAppliesIt(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0);
        Volume a = ds.createVolume("a", 1 << 20);
        Volume other = ds.createVolume("other", 1 << 20)) {
      Recording rec = new Recording();
      assertThat(ds.setInterceptor("a", rec)).isNull();
      try (Volume second = ds.volume("a")) {
        a.write(4096, filled(8192, 7));
        second.write(0, filled(512, 9));
        a.writeZeroes(4096, 4096, false);
        second.discard(65536, 4096);
        a.flush();
        other.write(0, filled(4096, 1)); // another volume: not seen
      }
      assertThat(rec.calls()).containsExactly("write 4096 8192 7 left 0", "write 0 512 9 left 0", "zero 4096 4096",
          "discard 65536 4096", "flush");
      assertThat(at(a, 0)).isEqualTo((byte) 9);
      assertThat(at(a, 4096)).isEqualTo((byte) 0);
      assertThat(at(a, 8192)).isEqualTo((byte) 7);

      assertThat(ds.clearInterceptor("a")).isSameAs(rec);
      a.write(0, filled(4096, 3));
      assertThat(rec.calls()).hasSize(5);
      assertThat(ds.clearInterceptor("a")).isNull();
    }
  }

  @Test
  void anInterceptorThatThrowsBeforeApplyingLeavesTheVolumeAsItWas(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0); Volume a = ds.createVolume("a", 1 << 20)) {
      a.write(0, filled(4096, 5));
      ds.setInterceptor("a", new VolumeInterceptor() {
        @Override
        public void write(long offset, ByteBuffer src, Local local) throws IOException {
          throw new IOException("mirror of " + offset + " failed");
        }

        @Override
        public void zero(long offset, long length, boolean discard, Local local) throws IOException {
          throw new IOException("mirror of zero failed");
        }

        @Override
        public void flush(Local local) throws IOException {
          local.apply();
        }
      });
      assertThatThrownBy(() -> a.write(0, filled(4096, 6))).hasMessage("mirror of 0 failed");
      assertThatThrownBy(() -> a.writeZeroes(0, 4096, true)).hasMessage("mirror of zero failed");
      assertThat(at(a, 100)).isEqualTo((byte) 5);
      assertThatThrownBy(() -> ds.setInterceptor("missing", new Recording())).isInstanceOf(DatastoreException.class)
          .hasMessageContaining("no volume missing");
    }
  }

  @Test
  void replacingReturnsThePreviousAndWaitsForOperationsThatMissedTheNewOne(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0); Volume a = ds.createVolume("a", 1 << 20)) {
      CountDownLatch entered = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      List<String> order = new ArrayList<>();
      Recording slow = new Recording() {
        @Override
        public void write(long offset, ByteBuffer src, Local local) throws IOException {
          entered.countDown();
          try {
            release.await();
          } catch (InterruptedException e) {
            throw new IOException(e);
          }
          local.apply();
          synchronized (order) {
            order.add("slow write done");
          }
        }
      };
      ds.setInterceptor("a", slow);
      Thread writer = Thread.ofVirtual().start(() -> {
        try {
          a.write(0, filled(4096, 1));
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      entered.await();
      Recording next = new Recording();
      VolumeInterceptor[] replaced = new VolumeInterceptor[1];
      Thread swapper = Thread.ofVirtual().start(() -> {
        try {
          replaced[0] = ds.setInterceptor("a", next);
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
        synchronized (order) {
          order.add("swapped");
        }
      });
      // Released only once the swapper is parked (or, were the gate missing, already done).
      while (swapper.getState() != Thread.State.WAITING && swapper.getState() != Thread.State.TERMINATED) {
        Thread.onSpinWait();
      }
      release.countDown();
      writer.join();
      swapper.join();
      assertThat(order).containsExactly("slow write done", "swapped");
      assertThat(replaced[0]).isSameAs(slow);
      a.write(0, filled(512, 2));
      assertThat(next.calls()).containsExactly("write 0 512 2 left 0");
    }
  }
}
