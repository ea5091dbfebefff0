package io.vstore.backup.instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Instant restore into a real datastore volume (which stores zeros as nothing): guest I/O on four
 * threads races the copy; every read is checked against what the threads own; after the copy the
 * volume, reopened from disk, equals the model.
 */
class InstantRestoreVolumeTest {
  private static final boolean CI = "true".equals(System.getenv("CI"));
  private static final int UNIT = 64 << 10;
  @TempDir Path dir;

  @Test
  void guestThreadsRacingTheCopyEndWithTheModelOnDisk() throws Exception {
    long seed = new Random().nextLong();
    Random r = new Random(seed);
    long size = 32L << 20;
    MemoryBlockDevice point = new MemoryBlockDevice("point", size);
    for (long off = 0; off < size; off += UNIT) {
      if (r.nextInt(3) > 0) {
        byte[] b = new byte[UNIT];
        r.nextBytes(b);
        point.write(off, ByteBuffer.wrap(b));
      }
    }
    byte[] model = new byte[(int) size];
    point.read(0, ByteBuffer.wrap(model));
    Path ds = dir.resolve("ds");
    try (Datastore store = Datastore.create(ds, DatastoreOptions.defaults(), 0)) {
      RestoreRecord record = InstantRestore.newRecord("restored", "repo", "p1", null, null, false, UNIT, size);
      InstantRestore restore = InstantRestore.start(store, new SlowDevice(point.snapshot("point"), new Random(seed)),
          record);
      assertThatThrownBy(() -> InstantRestore.start(store, point.snapshot("again"), record))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("exists already");
      BlockDevice device = restore.device();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      AtomicBoolean done = new AtomicBoolean();
      Thread copy = Thread.ofPlatform().start(() -> {
        try {
          done.set(restore.copy((d, t) -> { }, () -> false));
        } catch (Throwable t) {
          failure.set(t);
        }
      });
      // Each guest thread owns the units whose index is its number modulo 4, so its reads are exact.
      int threads = 4;
      Thread[] guests = new Thread[threads];
      for (int t = 0; t < threads; t++) {
        int me = t;
        Random gr = new Random(seed + t);
        guests[t] = Thread.ofPlatform().start(() -> {
          try {
            int ops = CI ? 300 : 1500;
            for (int i = 0; i < ops; i++) {
              long unit = (long) gr.nextInt((int) (size / UNIT / threads)) * threads + me;
              int off = gr.nextInt(UNIT);
              int len = 1 + gr.nextInt(UNIT - off);
              long pos = unit * UNIT + off;
              switch (gr.nextInt(4)) {
                case 0 -> {
                  byte[] b = new byte[len];
                  gr.nextBytes(b);
                  device.write(pos, ByteBuffer.wrap(b));
                  System.arraycopy(b, 0, model, (int) pos, len);
                }
                case 1 -> {
                  device.writeZeroes(pos, len, gr.nextBoolean());
                  Arrays.fill(model, (int) pos, (int) pos + len, (byte) 0);
                }
                default -> {
                  ByteBuffer got = ByteBuffer.allocate(len);
                  device.read(pos, got);
                  if (!Arrays.equals(got.array(), 0, len, model, (int) pos, (int) pos + len)) {
                    throw new AssertionError("seed " + seed + ": read " + len + " at " + pos + " differs");
                  }
                }
              }
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        });
      }
      for (Thread g : guests) {
        g.join();
      }
      copy.join();
      assertThat(failure.get()).as("seed %d", seed).isNull();
      assertThat(done.get()).isTrue();
      assertThat(restore.device().isMerged()).isFalse();
      assertThat(InstantRestore.pending(ds)).isEmpty();
      device.close();
    }
    try (Datastore store = Datastore.open(ds, DatastoreOptions.defaults());
        BlockDevice volume = store.volume("restored", true)) {
      byte[] got = new byte[(int) size];
      volume.read(0, ByteBuffer.wrap(got));
      for (int off = 0; off < size; off += 4096) {
        if (!Arrays.equals(got, off, off + 4096, model, off, off + 4096)) {
          throw new AssertionError("seed " + seed + ": the reopened volume differs at " + off);
        }
      }
    }
    assertThat(Files.exists(RestoreRecord.file(ds, "restored"))).isFalse();
  }
}
