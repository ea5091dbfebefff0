package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 64 connections at once (to a memory device and to a datastore volume), each pipelining writes, trims and zeroes into its own slice of one export
 * and mixing in bad requests (errors expected, connection kept) and malformed headers (connection
 * dropped, client reconnects); afterwards the export must equal a model built from the
 * acknowledged operations.
 */
@Tag("slow")
class StressTest {
  private static final int CONNECTIONS = 64;
  private static final int SLICE = 1 << 20;
  private static final int BLOCK = 64 * 1024;
  private static final int ITERATIONS = "true".equals(System.getenv("CI")) ? 60 : 200;

  @Test
  void sixtyFourConnectionsOnAMemoryDevice() throws Exception {
    stress(new MemoryBlockDevice("stress", (long) CONNECTIONS * SLICE));
  }

  @Test
  void sixtyFourConnectionsOnADatastoreVolume(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), DatastoreOptions.defaults(), 0);
        Volume volume = ds.createVolume("stress", (long) CONNECTIONS * SLICE)) {
      stress(volume);
      assertThat(ds.check().problems()).as("datastore check after the stress run").isEmpty();
    }
  }

  private void stress(BlockDevice disk) throws Exception {
    long seed = System.nanoTime();
    MemoryBlockDevice model = new MemoryBlockDevice("model", disk.size());
    ExportRegistry registry = new ExportRegistry();
    registry.add(Export.of("stress", disk));
    try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback());
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Void>> results = new ArrayList<>();
      for (int i = 0; i < CONNECTIONS; i++) {
        int id = i;
        results.add(pool.submit(worker(server.port(), id, new Random(seed + id), model)));
      }
      for (int i = 0; i < CONNECTIONS; i++) {
        try {
          results.get(i).get(5, TimeUnit.MINUTES);
        } catch (Exception e) {
          throw new AssertionError("worker " + i + " failed (seed " + seed + ")", e);
        }
      }
      for (long pos = 0; pos < disk.size(); pos += SLICE) {
        ByteBuffer a = ByteBuffer.allocate(SLICE);
        ByteBuffer b = ByteBuffer.allocate(SLICE);
        disk.read(pos, a);
        model.read(pos, b);
        assertThat(a.flip()).as("slice at %d (seed %d)", pos, seed).isEqualTo(b.flip());
      }
    }
  }

  private static Callable<Void> worker(int port, int id, Random r, MemoryBlockDevice model) {
    return () -> {
      long base = (long) id * SLICE;
      TestClient c = TestClient.open(port, "stress", true);
      long cookie = 0;
      try {
        for (int it = 0; it < ITERATIONS; it++) {
          int dice = r.nextInt(100);
          if (dice < 70) {
            // A pipelined batch on distinct blocks: replies may come back in any order.
            int n = 1 + r.nextInt(8);
            List<Integer> blocks = new ArrayList<>();
            while (blocks.size() < n) {
              int b = r.nextInt(SLICE / BLOCK);
              if (!blocks.contains(b)) {
                blocks.add(b);
              }
            }
            Map<Long, Runnable> pending = new HashMap<>();
            for (int b : blocks) {
              long off = base + (long) b * BLOCK + r.nextInt(BLOCK / 2);
              int len = 1 + r.nextInt(BLOCK / 2);
              long k = ++cookie;
              int kind = r.nextInt(4);
              if (kind <= 1) {
                byte[] data = new byte[len];
                r.nextBytes(data);
                c.send(Nbd.CMD_WRITE, kind == 1 ? Nbd.CMD_FLAG_FUA : 0, k, off, len, data);
                pending.put(k, () -> write(model, off, data));
              } else if (kind == 2) {
                c.send(Nbd.CMD_TRIM, 0, k, off, len, null);
                pending.put(k, () -> zero(model, off, len));
              } else {
                c.send(Nbd.CMD_WRITE_ZEROES, r.nextBoolean() ? Nbd.CMD_FLAG_NO_HOLE : 0, k, off, len, null);
                pending.put(k, () -> zero(model, off, len));
              }
            }
            while (!pending.isEmpty()) {
              TestClient.Chunk ch = c.readChunk(0);
              assertThat(ch.error()).as("worker %d cookie %d", id, ch.cookie()).isZero();
              Runnable apply = pending.remove(ch.cookie());
              assertThat(apply).as("reply to unknown cookie %d", ch.cookie()).isNotNull();
              apply.run();
            }
          } else if (dice < 85) {
            int len = 1 + r.nextInt(3 * BLOCK);
            long off = base + r.nextInt(SLICE - len);
            TestClient.Reply reply = c.read(++cookie, off, len, r.nextInt(4) == 0 ? Nbd.CMD_FLAG_DF : 0);
            ByteBuffer expected = ByteBuffer.allocate(len);
            synchronized (model) {
              model.read(off, expected);
            }
            assertThat(reply.data()).as("worker %d read at %d", id, off).isEqualTo(expected.array());
          } else if (dice < 95) {
            switch (r.nextInt(3)) {
              case 0 -> assertThat(c.read(++cookie, (long) CONNECTIONS * SLICE - 10, 4096, 0).error()).isEqualTo(Nbd.EINVAL);
              case 1 -> assertThat(c.command(Nbd.CMD_WRITE, 1 << 7, ++cookie, base, 512, new byte[512])).isEqualTo(Nbd.EINVAL);
              default -> assertThat(c.command(Nbd.CMD_WRITE, 0, ++cookie, (long) CONNECTIONS * SLICE, 512, new byte[512]))
                  .isEqualTo(Nbd.ENOSPC);
            }
          } else {
            c.send(0x7777, 0, ++cookie, 0, 0, null); // a valid header with an unknown command
            assertThat(c.readReply(cookie, 0).error()).isEqualTo(Nbd.EINVAL);
            c.out.writeInt(0x12345678); // then garbage: the server must drop this connection only
            c.out.write(new byte[24]);
            c.out.flush();
            assertThat(c.closedByServer()).isTrue();
            c.close();
            c = TestClient.open(port, "stress", true);
          }
        }
        assertThat(c.command(Nbd.CMD_FLUSH, 0, ++cookie, 0, 0, null)).isZero();
        c.send(Nbd.CMD_DISC, 0, ++cookie, 0, 0, null);
      } finally {
        c.close();
      }
      return null;
    };
  }

  private static void write(MemoryBlockDevice model, long off, byte[] data) {
    synchronized (model) {
      try {
        model.write(off, ByteBuffer.wrap(data));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }

  private static void zero(MemoryBlockDevice model, long off, int len) {
    synchronized (model) {
      try {
        model.writeZeroes(off, len, true);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }
}
