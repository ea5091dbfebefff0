package io.vstore.offline.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.FrameWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random reads, writes, background fills, flushes and restarts against a {@link StreamingDisk}
 * whose server is a byte array, compared with a model (the server's bytes overlaid by the guest's
 * writes): reads always see the model, the download never overwrites a write, every written block
 * is listed in the dirty log, and a restart after a flush fetches nothing it already had.
 */
class StreamingDiskModelTest {
  private static final int SIZE = (9 << 20) + (64 << 10); // a partial last chunk
  private static final int RUNS = "true".equals(System.getenv("CI")) ? 3 : 8;
  private static final int STEPS = 120;

  @TempDir Path tmp;

  @Test
  void randomOperationsMatchTheModel() throws Exception {
    long base = new Random().nextLong();
    for (int run = 0; run < RUNS; run++) {
      long seed = base + run;
      Path dir = tmp.resolve("run" + run);
      java.nio.file.Files.createDirectories(dir);
      int[] step = {0};
      try {
        runOnce(seed, dir, step);
      } catch (Throwable t) {
        throw new AssertionError("seed " + seed + ", step " + step[0] + ": " + t, t);
      }
    }
  }

  @Test
  void sequentialReadsAreFetchedAheadInFewRequests() throws Exception {
    int size = 32 << 20;
    byte[] server = new byte[size];
    new Random(17).nextBytes(server);
    java.util.List<long[]> opened = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    StreamingDisk.Source source = (offset, length, demand) -> {
      opened.add(new long[] {offset, length, demand ? 1 : 0});
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      FrameWriter w = new FrameWriter(out);
      for (long pos = offset; pos < offset + length; pos += StreamingDisk.CHUNK) {
        w.data(0, pos, ByteBuffer.wrap(server, (int) pos, (int) Math.min(StreamingDisk.CHUNK, offset + length - pos)));
      }
      w.end();
      return new ByteArrayInputStream(out.toByteArray());
    };
    try (Datastore store = Datastore.create(tmp.resolve("store"), DatastoreOptions.defaults(), 0);
        StreamLog present = StreamLog.open(tmp.resolve(StreamLog.PRESENT));
        StreamLog dirty = StreamLog.open(tmp.resolve(StreamLog.DIRTY))) {
      store.createVolume("d", size).close();
      try (Volume volume = store.volume("d")) {
        StreamingDisk disk = new StreamingDisk(0, volume, source, present, dirty);
        byte[] read = new byte[size];
        for (int at = 0; at < size; at += 64 << 10) {
          disk.read(at, ByteBuffer.wrap(read, at, 64 << 10));
        }
        disk.awaitFetches(60_000);
        assertThat(read).isEqualTo(server);
        assertThat(disk.presentCount()).isEqualTo(32);
        // the first chunk on demand, then runs of READ_AHEAD / 2 or more chunks ahead of the reader
        // (without read-ahead: one request per chunk)
        assertThat(opened).hasSizeLessThanOrEqualTo(2 + 32 / (StreamingDisk.READ_AHEAD / 2));
        assertThat(opened).allMatch(o -> o[2] == 1);
        long asked = opened.stream().mapToLong(o -> o[1]).sum();
        assertThat(asked).as("no chunk fetched twice").isEqualTo(size);
      }
    }
  }

  private void runOnce(long seed, Path dir, int[] step) throws Exception {
    Random rnd = new Random(seed);
    byte[] server = new byte[SIZE];
    for (int at = 0; at < SIZE; at += 64 << 10) {
      switch (rnd.nextInt(3)) {
        case 0 -> { } // a hole
        case 1 -> Arrays.fill(server, at, at + (64 << 10), (byte) (1 + rnd.nextInt(255)));
        default -> {
          byte[] b = new byte[64 << 10];
          rnd.nextBytes(b);
          System.arraycopy(b, 0, server, at, b.length);
        }
      }
    }
    byte[] model = server.clone();
    BitSet written = new BitSet();
    StreamingDisk.Source source = (offset, length, demand) -> {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      FrameWriter w = new FrameWriter(out);
      // frames of odd sizes that straddle chunks, only where the server has non-zero bytes
      Random frames = new Random(offset ^ length);
      for (long pos = offset; pos < offset + length; ) {
        int n = (int) Math.min(offset + length - pos, 1 + frames.nextInt(300 << 10));
        boolean zero = true;
        for (int i = 0; i < n && zero; i++) {
          zero = server[(int) pos + i] == 0;
        }
        if (!zero) {
          w.data(0, pos, ByteBuffer.wrap(server, (int) pos, n));
        }
        pos += n;
      }
      w.end();
      return new ByteArrayInputStream(out.toByteArray());
    };
    Datastore store = Datastore.create(dir.resolve("store"), DatastoreOptions.defaults(), 0);
    store.createVolume("d", SIZE).close();
    Volume volume = store.volume("d");
    StreamLog present = StreamLog.open(dir.resolve(StreamLog.PRESENT));
    StreamLog dirty = StreamLog.open(dir.resolve(StreamLog.DIRTY));
    StreamingDisk disk = new StreamingDisk(0, volume, source, present, dirty);
    int readEnd = 0;
    try {
      for (step[0] = 0; step[0] < STEPS; step[0]++) {
        int op = rnd.nextInt(10);
        // half the reads go on where the last one ended, as a booting guest reads: the read-ahead runs
        int off = op < 4 && readEnd < SIZE && rnd.nextBoolean() ? readEnd : rnd.nextInt(SIZE);
        int len = 1 + rnd.nextInt(Math.min(SIZE - off, 3 << 20));
        if (op < 4) {
          ByteBuffer b = ByteBuffer.allocate(len);
          disk.read(off, b);
          readEnd = off + len;
          assertThat(b.array()).as("read at %d of %d", off, len).isEqualTo(Arrays.copyOfRange(model, off, off + len));
        } else if (op < 7) {
          byte[] b = new byte[Math.min(len, 256 << 10)];
          if (rnd.nextBoolean()) {
            rnd.nextBytes(b);
            disk.write(off, ByteBuffer.wrap(b));
          } else {
            disk.writeZeroes(off, b.length, rnd.nextBoolean());
          }
          System.arraycopy(b, 0, model, off, b.length);
          written.set(off >>> StreamingDisk.DIRTY_SHIFT, ((off + b.length - 1) >>> StreamingDisk.DIRTY_SHIFT) + 1);
        } else if (op < 9) {
          long c = rnd.nextLong(disk.chunks());
          disk.fill(c, Math.min(disk.chunks(), c + 1 + rnd.nextInt(4)), false);
        } else {
          // flush, then restart: what arrived is not fetched again
          disk.awaitFetches(60_000);
          disk.commit();
          long have = disk.presentCount();
          volume.close();
          store.close();
          present.close();
          dirty.close();
          store = Datastore.open(dir.resolve("store"), DatastoreOptions.defaults());
          volume = store.volume("d");
          present = StreamLog.open(dir.resolve(StreamLog.PRESENT));
          dirty = StreamLog.open(dir.resolve(StreamLog.DIRTY));
          disk = new StreamingDisk(0, volume, source, present, dirty);
          assertThat(disk.presentCount()).isEqualTo(have);
        }
      }
      // the background finishes; nothing overwrites the guest's writes
      for (long c = disk.nextAbsent(0); c < disk.chunks(); c = disk.nextAbsent(c)) {
        disk.fill(c, c + 1, false);
      }
      disk.awaitFetches(60_000);
      disk.commit();
      StreamingDisk.finish(java.util.List.of(disk), () -> { });
      ByteBuffer all = ByteBuffer.allocate(SIZE);
      disk.read(0, all);
      assertThat(all.array()).isEqualTo(model);
      BitSet listed = new BitSet();
      for (StreamLog.Run r : dirty.runs()) {
        listed.set((int) r.first(), (int) (r.first() + r.count()));
      }
      assertThat(listed).isEqualTo(written);
    } finally {
      volume.close();
      store.close();
      present.close();
      dirty.close();
    }
  }
}
