package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.uring.IoUring;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads of a volume export served through the connection's io_uring: many in flight, answered out
 * of order, in simple and structured replies (holes as hole chunks), with damaged data reported as
 * an error while the connection carries on.
 */
class RingReadTest {
  private static final int BLOCK = 4096;
  private static final int BLOCKS = 2048;

  @BeforeAll
  static void ringsWork() {
    assertThat(IoUring.available()).as("io_uring on this machine: %s", IoUring.unavailableReason()).isTrue();
  }

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  /** Fills a volume with random and compressible data, zeroed runs and holes; returns its content. */
  private static byte[] fill(Volume v, Random rnd) throws IOException {
    byte[] model = new byte[BLOCKS * BLOCK];
    for (int i = 0; i < 300; i++) {
      int first = rnd.nextInt(BLOCKS);
      int count = 1 + rnd.nextInt(Math.min(24, BLOCKS - first));
      byte[] data = new byte[count * BLOCK];
      if (i % 3 == 0) {
        Arrays.fill(data, (byte) i);
      } else {
        rnd.nextBytes(data);
      }
      if (i % 11 == 0) {
        v.writeZeroes((long) first * BLOCK, data.length, true);
        Arrays.fill(model, first * BLOCK, (first + count) * BLOCK, (byte) 0);
      } else {
        v.write((long) first * BLOCK, ByteBuffer.wrap(data));
        System.arraycopy(data, 0, model, first * BLOCK, data.length);
      }
      if (i % 50 == 49) {
        v.flush(); // some records in files, some still in memory
      }
    }
    return model;
  }

  @Test
  void pipelinedReadsMatchTheVolumeInStructuredAndSimpleReplies(@TempDir Path dir) throws Exception {
    Random rnd = new Random(42);
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0);
        Volume v = ds.createVolume("v", (long) BLOCKS * BLOCK)) {
      byte[] model = fill(v, rnd);
      ExportRegistry registry = new ExportRegistry();
      registry.add(Export.of("v", v));
      try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback())) {
        for (boolean structured : new boolean[] {true, false}) {
          try (TestClient c = TestClient.open(server.port(), "v", structured)) {
            pipelined(c, structured, model, rnd);
          }
        }
        // Unaligned reads go to workers; the aligned ones, most of them, to the ring.
        assertThat(server.ringReads()).as("reads served by the ring").isGreaterThan(300);
      }
    }
  }

  /** Sends 256 reads before reading any reply, then checks every reply against the model. */
  private static void pipelined(TestClient c, boolean structured, byte[] model, Random rnd) throws IOException {
    Map<Long, long[]> asked = new HashMap<>(); // cookie -> {offset, length}
    for (long cookie = 1; cookie <= 256; cookie++) {
      int length = (int) (cookie % 8 == 0 ? 1 + rnd.nextInt(200_000) : (1 + rnd.nextInt(16)) * BLOCK);
      long offset = cookie % 8 == 1 ? rnd.nextInt(BLOCKS * BLOCK - length) : (long) rnd.nextInt(BLOCKS - 16) * BLOCK;
      int flags = structured && cookie % 5 == 0 ? Nbd.CMD_FLAG_DF : 0;
      c.send(Nbd.CMD_READ, flags, cookie, offset, length, null);
      asked.put(cookie, new long[] {offset, length});
    }
    checkReplies(c, asked, model);
  }

  /** Reads the replies to the reads {@code asked} (cookie to {offset, length}) and checks each against the model. */
  private static void checkReplies(TestClient c, Map<Long, long[]> asked, byte[] model) throws IOException {
    Map<Long, byte[]> got = new HashMap<>();
    Map<Long, Long> covered = new HashMap<>();
    int done = 0;
    while (done < asked.size()) {
      // Simple replies carry no length: it comes from the cookie, which the reply names first.
      TestClient.Chunk chunk = c.readChunk(cookie -> (int) asked.get(cookie)[1]);
      long[] a = asked.get(chunk.cookie());
      assertThat(a).as("reply to an unknown cookie %d", chunk.cookie()).isNotNull();
      assertThat(chunk.error()).as("error on read of %d bytes at %d: %s", a[1], a[0], chunk.message()).isZero();
      byte[] data = got.computeIfAbsent(chunk.cookie(), k -> new byte[(int) a[1]]);
      if (chunk.type() == -1 || chunk.type() == Nbd.REPLY_TYPE_OFFSET_DATA || chunk.type() == Nbd.REPLY_TYPE_OFFSET_HOLE) {
        int at = chunk.type() == -1 ? 0 : (int) (chunk.offset() - a[0]);
        System.arraycopy(chunk.data(), 0, data, at, chunk.data().length);
        covered.merge(chunk.cookie(), (long) chunk.data().length, Long::sum);
      }
      if (chunk.done()) {
        done++;
        assertThat(covered.get(chunk.cookie())).as("bytes covered for cookie %d", chunk.cookie()).isEqualTo(a[1]);
        assertThat(data).as("read of %d bytes at %d", a[1], a[0])
            .isEqualTo(Arrays.copyOfRange(model, (int) a[0], (int) (a[0] + a[1])));
      }
    }
  }

  @Test
  void largeReadsOfAFragmentedVolumeAreServedByTheRing(@TempDir Path dir) throws Exception {
    Random rnd = new Random(7);
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0);
        Volume v = ds.createVolume("v", (long) BLOCKS * BLOCK)) {
      byte[] model = fill(v, rnd); // hundreds of records, some in memory: a MiB is many pieces
      ExportRegistry registry = new ExportRegistry();
      registry.add(Export.of("v", v));
      try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback());
          TestClient c = TestClient.open(server.port(), "v", true)) {
        Map<Long, long[]> asked = new HashMap<>();
        for (long cookie = 1; cookie <= 24; cookie++) {
          int length = (cookie % 3 == 0 ? 512 : 256) * BLOCK; // 1 and 2 MiB
          long offset = (long) rnd.nextInt(BLOCKS - length / BLOCK + 1) * BLOCK;
          c.send(Nbd.CMD_READ, 0, cookie, offset, length, null);
          asked.put(cookie, new long[] {offset, length});
        }
        checkReplies(c, asked, model);
        assertThat(server.ringReads()).as("reads served by the ring").isEqualTo(24);
      }
    }
  }

  @Test
  void aDamagedBlockIsAnErrorReplyAndTheConnectionGoesOn(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0);
        Volume v = ds.createVolume("v", 1 << 20)) {
      byte[] bad = new byte[BLOCK];
      byte[] good = new byte[BLOCK];
      new Random(1).nextBytes(bad);
      new Random(2).nextBytes(good);
      v.write(0, ByteBuffer.wrap(bad));
      v.write(BLOCK, ByteBuffer.wrap(good));
      v.flush();
      damage(dir.resolve("ds").resolve("segments"), bad);
      ExportRegistry registry = new ExportRegistry();
      registry.add(Export.of("v", v));
      try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback());
          TestClient c = TestClient.open(server.port(), "v", true)) {
        TestClient.Reply r = c.read(1, 0, BLOCK, 0);
        assertThat(r.error()).isEqualTo(Nbd.EIO);
        assertThat(r.chunks().getFirst().message()).contains("checksum");
        assertThat(c.read(2, BLOCK, BLOCK, 0).data()).isEqualTo(good);
      }
    }
  }

  /** Flips a byte of {@code block} where it lies in a segment file. */
  private static void damage(Path segments, byte[] block) throws IOException {
    try (Stream<Path> files = Files.list(segments)) {
      for (Path p : files.toList()) {
        byte[] bytes = Files.readAllBytes(p);
        for (int i = 0; i + block.length <= bytes.length; i++) {
          if (Arrays.equals(bytes, i, i + block.length, block, 0, block.length)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
              ch.write(ByteBuffer.wrap(new byte[] {(byte) ~block[7]}), i + 7);
            }
            return;
          }
        }
      }
    }
    throw new AssertionError("block not found in " + segments);
  }
}
