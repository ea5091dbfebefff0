package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.VolumeInterceptor;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.PowerCutChannels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random writes (some FUA) and flushes pipelined over one connection at up to 32 in flight, to a
 * datastore volume that is, for most seeds and most of the time, intercepted by a stand-in for a
 * replica's secondary that holds each write back a random while (small writes run on the reader,
 * larger ones and FUA writes on workers, answered out of order). The power is cut at a random step with requests in flight; after
 * reopening, every write answered before a FLUSH was sent (once that FLUSH was answered) and every
 * answered FUA write reads back, and every other block holds one of the contents it was given.
 */
@Tag("slow")
final class WriteDispatchPowerCutTest {
  private static final int BLOCK = 4096;
  private static final long SIZE = 2L << 20;
  private static final int BLOCKS = (int) (SIZE / BLOCK);
  private static final int ITERATIONS = "true".equals(System.getenv("CI")) ? 8 : 24;
  @TempDir Path tmp;

  /** A block's content after one answered write, and that write's place in the order of answers. */
  private record Version(long stamp, byte[] content) {}

  /** A request sent and not yet answered; a write keeps its data, a flush the last stamp answered before it. */
  private record Pending(int type, boolean fua, long offset, byte[] data, long flushStamp) {}

  @Test
  void everyWriteAnsweredBeforeAnAnsweredFlushSurvivesAPowerCut() throws IOException {
    long first = 0xd15_0000L;
    for (int i = 0; i < ITERATIONS; i++) {
      long seed = first + i;
      try {
        runOnce(seed, tmp.resolve("ds" + i));
      } catch (AssertionError | IOException | RuntimeException e) {
        throw new AssertionError("write dispatch power cut failed with seed " + seed + ": " + e.getMessage(), e);
      }
    }
  }

  private void runOnce(long seed, Path dir) throws IOException {
    Random r = new Random(seed);
    PowerCutChannels power = new PowerCutChannels(seed);
    DatastoreOptions faulty = DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO)
        .withFlushThreshold(20 + r.nextInt(500)).withChannels(power::open);
    List<List<Version>> history = new ArrayList<>();
    for (int b = 0; b < BLOCKS; b++) {
      history.add(new ArrayList<>());
    }
    int[] floor = new int[BLOCKS]; // per block, the first version that must survive; -1: zeros may
    Arrays.fill(floor, -1);
    byte[] model = new byte[(int) SIZE]; // every answered write applied
    Map<Long, Pending> pending = new HashMap<>();
    int qd = 2 + r.nextInt(31);
    int steps = 50 + r.nextInt(400);
    Datastore ds = Datastore.create(dir, faulty, 0);
    Volume v = ds.createVolume("v", SIZE);
    boolean intercepted = r.nextInt(4) != 0;
    if (intercepted) {
      ds.setInterceptor("v", new Scatter());
    }
    ExportRegistry registry = new ExportRegistry();
    registry.add(Export.of("v", v));
    long stamp = 0;
    long cookie = 0;
    try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback())) {
      TestClient c = TestClient.open(server.port(), "v", true);
      try {
        for (int step = 0; step < steps; step++) {
          if (r.nextInt(50) == 0) { // the interceptor comes and goes as a replica's state does
            intercepted = !intercepted;
            if (intercepted) {
              ds.setInterceptor("v", new Scatter());
            } else {
              ds.clearInterceptor("v");
            }
          }
          boolean send = pending.size() < qd && (pending.isEmpty() || r.nextInt(3) != 0);
          if (send && r.nextInt(6) == 0) {
            c.send(Nbd.CMD_FLUSH, 0, ++cookie, 0, 0, null);
            pending.put(cookie, new Pending(Nbd.CMD_FLUSH, false, 0, null, stamp));
            continue;
          }
          if (send) {
            int len = r.nextBoolean() ? BLOCK * (1 + r.nextInt(16)) : 1 + r.nextInt(3 * BLOCK);
            long off = r.nextBoolean() ? BLOCK * (long) r.nextInt((int) ((SIZE - len) / BLOCK)) : r.nextInt((int) (SIZE - len));
            if (!overlapsInFlight(pending, off, len)) {
              byte[] data = new byte[len];
              r.nextBytes(data);
              boolean fua = r.nextInt(7) == 0;
              c.send(Nbd.CMD_WRITE, fua ? Nbd.CMD_FLAG_FUA : 0, ++cookie, off, len, data);
              pending.put(cookie, new Pending(Nbd.CMD_WRITE, fua, off, data, 0));
              continue;
            }
          }
          if (pending.isEmpty()) {
            continue;
          }
          TestClient.Chunk reply = c.readChunk(0);
          Pending p = pending.remove(reply.cookie());
          assertThat(p).as("step %d: reply to unknown cookie %d", step, reply.cookie()).isNotNull();
          assertThat(reply.error()).as("step %d: reply to cookie %d (%s)", step, reply.cookie(), reply.message()).isZero();
          if (p.type() == Nbd.CMD_WRITE) {
            stamp++;
            System.arraycopy(p.data(), 0, model, (int) p.offset(), p.data().length);
            for (int b = firstBlock(p); b < endBlock(p); b++) {
              history.get(b).add(new Version(stamp, Arrays.copyOfRange(model, b * BLOCK, (b + 1) * BLOCK)));
              if (p.fua()) {
                floor[b] = history.get(b).size() - 1;
              }
            }
          } else {
            for (int b = 0; b < BLOCKS; b++) {
              List<Version> h = history.get(b);
              for (int k = h.size() - 1; k > floor[b]; k--) {
                if (h.get(k).stamp() <= p.flushStamp()) {
                  floor[b] = k;
                  break;
                }
              }
            }
          }
        }
        // Writes still in flight may or may not have landed: each block may hold its new content too.
        for (Pending p : pending.values()) {
          if (p.type() == Nbd.CMD_WRITE) {
            byte[] after = model.clone();
            System.arraycopy(p.data(), 0, after, (int) p.offset(), p.data().length);
            for (int b = firstBlock(p); b < endBlock(p); b++) {
              history.get(b).add(new Version(Long.MAX_VALUE, Arrays.copyOfRange(after, b * BLOCK, (b + 1) * BLOCK)));
            }
          }
        }
        power.cut();
      } finally {
        c.close();
      }
    }
    try {
      ds.close(); // fails to flush: the power is off, so nothing more reaches the disk
    } catch (IOException expected) {
      // A crash would not have flushed either.
    }

    try (Datastore again = Datastore.open(dir, DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO));
        Volume back = again.volume("v")) {
      assertThat(again.check().problems()).as("check after the power cut").isEmpty();
      byte[] zeros = new byte[BLOCK];
      for (int b = 0; b < BLOCKS; b++) {
        ByteBuffer actual = ByteBuffer.allocate(BLOCK);
        back.read((long) b * BLOCK, actual);
        List<Version> h = history.get(b);
        boolean allowed = floor[b] < 0 && Arrays.equals(actual.array(), zeros);
        for (int k = Math.max(floor[b], 0); k < h.size() && !allowed; k++) {
          allowed = Arrays.equals(actual.array(), h.get(k).content());
        }
        assertThat(allowed).as("block %d after the power cut: neither its durable content (version %d of %d) nor a later one",
            b, floor[b], h.size()).isTrue();
      }
    }
  }

  /** Returns whether {@code [off, off + len)} shares a block with a write in flight (their order would be undefined). */
  private static boolean overlapsInFlight(Map<Long, Pending> pending, long off, int len) {
    long first = off / BLOCK;
    long end = (off + len + BLOCK - 1) / BLOCK;
    for (Pending p : pending.values()) {
      if (p.type() == Nbd.CMD_WRITE && firstBlock(p) < end && first < endBlock(p)) {
        return true;
      }
    }
    return false;
  }

  private static int firstBlock(Pending p) {
    return (int) (p.offset() / BLOCK);
  }

  private static int endBlock(Pending p) {
    return (int) ((p.offset() + p.data().length + BLOCK - 1) / BLOCK);
  }

  /** Stands in for a replica's secondary: holds each change back a random while, so writes finish out of order. */
  private static final class Scatter implements VolumeInterceptor {
    @Override
    public void write(long offset, ByteBuffer src, Local local) throws IOException {
      pause();
      local.apply();
      pause();
    }

    @Override
    public void zero(long offset, long length, boolean discard, Local local) throws IOException {
      local.apply();
      pause();
    }

    @Override
    public void flush(Local local) throws IOException {
      local.apply();
    }

    private static void pause() {
      LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(300_000));
    }
  }
}
