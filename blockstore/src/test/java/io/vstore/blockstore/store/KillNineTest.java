package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a child JVM with SIGKILL in the middle of a workload, over and over on the same
 * datastore. After each kill: datastore check is clean, every operation acknowledged as flushed
 * is there, and every block holds either its flushed content or a content written after it.
 * {@code -Dvstore.killIterations=N} sets the number of kills (default 15, 6 under CI).
 */
@Tag("slow")
final class KillNineTest {
  private static final int BLOCK = KillWorkload.BLOCK;
  @TempDir Path tmp;

  @Test
  void sigkillLosesAtMostUnflushedWrites() throws Exception {
    Path dir = tmp.resolve("ds");
    MemoryBlockDevice baseline = new MemoryBlockDevice("baseline", KillWorkload.SIZE);
    Random timing = new Random(42);
    // -Dvstore.killIterations=N runs N kills; seed 7000 + i is kill i, so 266 reach seed 7265.
    int iterations = Workloads.iterations("vstore.killIterations", 15, 6);
    System.out.println("kill -9 loop: " + iterations + " iterations");
    int totalFlushedOps = 0;
    for (int iteration = 0; iteration < iterations; iteration++) {
      long seed = 7000 + iteration;
      int[] progress = runAndKill(dir, seed, 200 + timing.nextInt(1500));
      int flushed = progress[0];
      int started = progress[1];
      totalFlushedOps += flushed;
      MemoryBlockDevice model = baseline.snapshot("model");
      MemoryBlockDevice writable = new MemoryBlockDevice("expected", KillWorkload.SIZE);
      copy(model, writable);
      for (int i = 0; i < flushed; i++) {
        apply(writable, KillWorkload.op(seed, i));
      }
      Map<Long, List<byte[]>> later = new HashMap<>();
      MemoryBlockDevice scratch = new MemoryBlockDevice("scratch", KillWorkload.SIZE);
      copy(writable, scratch);
      for (int i = flushed; i <= started; i++) {
        KillWorkload.Op op = KillWorkload.op(seed, i);
        apply(scratch, op);
        for (long b = op.offset() / BLOCK; b < (op.offset() + op.length()) / BLOCK; b++) {
          later.computeIfAbsent(b, k -> new ArrayList<>()).add(block(scratch, b));
        }
      }
      try (Datastore ds = Datastore.open(dir, DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO))) {
        assertThat(ds.check().problems()).as("check after kill %d (seed %d)", iteration, seed).isEmpty();
        Volume v = ds.volume("v");
        for (long b = 0; b < KillWorkload.SIZE / BLOCK; b++) {
          byte[] actual = block(v, b);
          if (Arrays.equals(actual, block(writable, b))) {
            continue;
          }
          assertThat(later.getOrDefault(b, List.of()).stream().anyMatch(x -> Arrays.equals(x, actual)))
              .as("kill %d (seed %d, %d ops flushed, %d started): block %d", iteration, seed, flushed, started, b)
              .isTrue();
        }
        baseline = new MemoryBlockDevice("baseline", KillWorkload.SIZE);
        copy(v, baseline);
      }
    }
    assertThat(totalFlushedOps).as("the workload got to flush before being killed").isPositive();
  }

  /** Runs the workload of {@code seed} and kills it {@code millis} after it is ready; returns {flushed, last started}. */
  private static int[] runAndKill(Path dir, long seed, long millis) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        "--enable-native-access=ALL-UNNAMED", KillWorkload.class.getName(), dir.toString(), Long.toString(seed))
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    int flushed = 0;
    int started = -1;
    try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))) {
      String line = in.readLine();
      assertThat(line).as("child workload started").isEqualTo("READY");
      Thread killer = Thread.ofVirtual().start(() -> {
        try {
          Thread.sleep(millis);
        } catch (InterruptedException e) {
          return;
        }
        try {
          // Not destroyForcibly: that also closes our end of the pipe, losing lines already sent.
          new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor();
        } catch (IOException | InterruptedException e) {
          p.destroyForcibly();
        }
      });
      while ((line = in.readLine()) != null) {
        if (line.startsWith("S ")) {
          started = Integer.parseInt(line.substring(2));
        } else if (line.startsWith("F ")) {
          flushed = Integer.parseInt(line.substring(2));
        }
      }
      killer.join();
    }
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("child was killed, not finished").isEqualTo(137);
    return new int[] {flushed, started};
  }

  private static void apply(MemoryBlockDevice d, KillWorkload.Op op) throws IOException {
    if (op.data() == null) {
      d.discard(op.offset(), op.length());
    } else {
      d.write(op.offset(), ByteBuffer.wrap(op.data()));
    }
  }

  private static byte[] block(io.vstore.blockstore.BlockDevice d, long b) throws IOException {
    byte[] out = new byte[BLOCK];
    d.read(b * BLOCK, ByteBuffer.wrap(out));
    return out;
  }

  private static void copy(io.vstore.blockstore.BlockDevice from, MemoryBlockDevice to) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    for (long pos = 0; pos < from.size(); pos += buf.capacity()) {
      buf.clear();
      from.read(pos, buf);
      buf.flip();
      to.write(pos, buf);
    }
  }
}
