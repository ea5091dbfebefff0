package io.vstore.backup.instant;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.blockstore.testing.ModelRun;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random guest writes, zeroings, reads and flushes on an instant-restore device while the
 * background copy races them, with crashes at random points: every read is compared with a model;
 * after a crash every 4 KiB block must hold a state it had since the last flush (no flushed write
 * lost, no garbage), the copy resumes, and when it ends the volume alone equals the model.
 */
class InstantRestoreModelTest {
  private static final boolean CI = "true".equals(System.getenv("CI"));
  private static final int BLOCK = CrashableVolume.BLOCK;
  @TempDir Path dir;

  static LongStream seeds() {
    return ModelRun.seeds(CI ? 12 : 30);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void guestIoRacingTheCopyWithCrashesMatchesTheModel(long seed) {
    ModelRun.run(seed, run -> new Run(run).go());
  }

  /** One run: the devices, the model and the copy thread. */
  private final class Run {
    final ModelRun run;
    final Random r;
    final int unit;
    final long size;
    final Path ds;
    final MemoryBlockDevice point;
    final byte[] model;
    /** Per block, hashes of every content it had since the last flush. */
    final Set<Long>[] allowed;
    CrashableVolume volume;
    InstantRestore restore;
    /** What the guest uses: the merged device, or the volume alone once the restore is over. */
    BlockDevice device;
    Thread copier;
    final AtomicReference<Throwable> copyFailure = new AtomicReference<>();
    volatile boolean copyDone;

    @SuppressWarnings("unchecked")
    Run(ModelRun run) throws IOException {
      this.run = run;
      this.r = run.random();
      this.unit = 1 << (12 + r.nextInt(5));
      int units = 8 + r.nextInt(40);
      this.size = (long) units * unit - (r.nextBoolean() ? (long) BLOCK * r.nextInt(unit / BLOCK) : 0);
      run.context("unit " + unit + ", size " + size);
      this.ds = dir.resolve("ds-" + run.seed());
      this.point = new MemoryBlockDevice("point", size);
      for (long u = 0; u * unit < size; u++) {
        long start = u * unit;
        int len = (int) Math.min(unit, size - start);
        switch (r.nextInt(4)) {
          case 0 -> { } // a hole
          case 1 -> point.write(start, ByteBuffer.allocate(len)); // written zeros
          case 2 -> point.write(start, ByteBuffer.wrap(random(len)));
          default -> {
            int off = r.nextInt(len);
            point.write(start + off, ByteBuffer.wrap(random(1 + r.nextInt(len - off))));
          }
        }
      }
      this.model = new byte[(int) size];
      point.read(0, ByteBuffer.wrap(model));
      this.allowed = new Set[(int) ((size + BLOCK - 1) / BLOCK)];
      resetAllowed();
    }

    void go() throws Exception {
      volume = new CrashableVolume("vol", size);
      RestoreRecord record = InstantRestore.newRecord("vol", "repo", "p1", null, null, false, unit, size);
      restore = InstantRestore.start(ds, volume, slowSource(), record);
      device = restore.device();
      startCopy();
      int steps = CI ? 120 : 300;
      int crashes = 0;
      for (int step = 0; step < steps; step++) {
        int op = r.nextInt(100);
        if (op < 35) {
          long off = randomOffset();
          int len = (int) Math.min(size - off, 1 + r.nextInt(3 * unit));
          byte[] data = r.nextInt(5) == 0 ? new byte[len] : random(len);
          run.step(step, "write " + len + " at " + off + (isZero(data) ? " (zeros)" : ""));
          device.write(off, ByteBuffer.wrap(data));
          System.arraycopy(data, 0, model, (int) off, len);
          touched(off, len);
        } else if (op < 50) {
          long off = randomOffset();
          long len = Math.min(size - off, 1 + r.nextInt(4 * unit));
          boolean discard = r.nextBoolean();
          run.step(step, (discard ? "discard " : "write zeroes ") + len + " at " + off);
          if (discard) {
            device.discard(off, len);
          } else {
            device.writeZeroes(off, len, r.nextBoolean());
          }
          Arrays.fill(model, (int) off, (int) (off + len), (byte) 0);
          touched(off, len);
        } else if (op < 80) {
          long off = randomOffset();
          int len = (int) Math.min(size - off, 1 + r.nextInt(3 * unit));
          run.step(step, "read " + len + " at " + off);
          ByteBuffer got = ByteBuffer.allocate(len);
          device.read(off, got);
          assertThat(got.array()).as("read %d at %d", len, off)
              .isEqualTo(Arrays.copyOfRange(model, (int) off, (int) off + len));
        } else if (op < 88) {
          run.step(step, "flush");
          device.flush();
          resetAllowed();
        } else if (op < 94) {
          long off = randomOffset();
          long len = Math.min(size - off, 1 + r.nextInt(8 * unit));
          run.step(step, "allocation " + len + " at " + off);
          checkAllocation(off, len);
        } else if (crashes < 8) {
          crashes++;
          run.step(step, "crash and resume");
          crashAndResume();
        }
      }
      run.finish("finishing the copy");
      copier.join();
      assertThat(copyFailure.get()).as("copy failure").isNull();
      if (restore != null) {
        assertThat(copyDone).as("copy finished").isTrue();
        assertThat(restore.device().isMerged()).isFalse();
      }
      assertThat(Files.exists(RestoreRecord.file(ds, "vol"))).as("record removed").isFalse();
      assertThat(Files.exists(RestoreRecord.zeroLog(ds, "vol"))).as("zero log removed").isFalse();
      assertWhole(device, "the device after the copy");
      assertWhole(volume, "the volume alone");
      device.close();
      point.close();
    }

    void crashAndResume() throws Exception {
      volume.crash();
      copier.join();
      copyFailure.set(null);
      device.close(); // the crashed volume is left as it is; the source and zero log are released
      volume = volume.recover(r);
      RestoreRecord saved = RestoreRecord.load(RestoreRecord.file(ds, "vol"));
      if (saved == null) {
        restore = null;
        device = volume;
      } else {
        restore = InstantRestore.resume(ds, saved, volume, slowSource());
        device = restore.device();
      }
      byte[] now = new byte[(int) size];
      device.read(0, ByteBuffer.wrap(now));
      for (int b = 0; b < allowed.length; b++) {
        int from = b * BLOCK;
        int to = (int) Math.min(size, from + BLOCK);
        long h = hash(now, from, to);
        if (!allowed[b].contains(h)) {
          throw new AssertionError("after the crash block " + b + " (offset " + from + ") holds a state it never had"
              + " since the last flush" + (restore == null ? "" : " (record cursor " + saved.cursor() + ")"));
        }
      }
      System.arraycopy(now, 0, model, 0, now.length);
      resetAllowed();
      if (restore != null) {
        startCopy();
      }
    }

    void startCopy() {
      copyDone = false;
      InstantRestore running = restore;
      copier = Thread.ofPlatform().name("copy").start(() -> {
        try {
          copyDone = running.copy((done, total) -> { }, () -> false);
        } catch (Throwable t) {
          copyFailure.set(t);
        }
      });
    }

    /** Returns a fresh view of the point whose reads take a little time, so the copy races the guest. */
    BlockDevice slowSource() {
      return new SlowDevice(point.snapshot("point"), new Random(r.nextLong()));
    }

    void checkAllocation(long off, long len) throws IOException {
      List<Extent> extents = device.allocation(off, len);
      assertThat(extents.getFirst().offset()).isEqualTo(off);
      assertThat(extents.getLast().end()).isEqualTo(off + len);
      for (Extent e : extents) {
        if (e.kind().readsAsZeros()) {
          assertThat(isZero(Arrays.copyOfRange(model, (int) e.offset(), (int) e.end())))
              .as("%s reads as zeros", e).isTrue();
        }
      }
    }

    void assertWhole(BlockDevice d, String what) throws IOException {
      byte[] got = new byte[(int) size];
      d.read(0, ByteBuffer.wrap(got));
      for (int b = 0; b < allowed.length; b++) {
        int from = b * BLOCK;
        int to = (int) Math.min(size, from + BLOCK);
        if (!Arrays.equals(got, from, to, model, from, to)) {
          throw new AssertionError(what + " differs from the model in block " + b + " (offset " + from + ")");
        }
      }
    }

    long randomOffset() {
      // Mostly unit-aligned or block-aligned, sometimes anywhere: partial units are the hard case.
      return switch (r.nextInt(3)) {
        case 0 -> (long) r.nextInt((int) ((size + unit - 1) / unit)) * unit;
        case 1 -> (long) r.nextInt((int) (size / BLOCK)) * BLOCK;
        default -> r.nextLong(size);
      };
    }

    void touched(long off, long len) {
      for (long b = off / BLOCK; b * BLOCK < off + len; b++) {
        int from = (int) (b * BLOCK);
        allowed[(int) b].add(hash(model, from, (int) Math.min(size, from + BLOCK)));
      }
    }

    void resetAllowed() {
      for (int b = 0; b < allowed.length; b++) {
        int from = b * BLOCK;
        allowed[b] = new HashSet<>();
        allowed[b].add(hash(model, from, (int) Math.min(size, from + BLOCK)));
      }
    }

    byte[] random(int n) {
      byte[] b = new byte[n];
      r.nextBytes(b);
      return b;
    }
  }

  static long hash(byte[] b, int from, int to) {
    CRC32C c = new CRC32C();
    c.update(b, from, to - from);
    return (c.getValue() << 32) ^ Arrays.hashCode(Arrays.copyOfRange(b, from, to));
  }

  static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
