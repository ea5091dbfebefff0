package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.store.CheckReport;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.cli.client.DaemonClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills {@code vstore serve} (a child JVM) with SIGKILL at a random moment while an NBD client
 * writes patterns through an export and flushes, and while an import and a check run as jobs; then
 * restarts it, over and over on the same datastore. After each restart the jobs that were running
 * are interrupted (or resumed, or had ended), {@code datastore check} through the daemon is clean,
 * and, read offline after a clean stop, every byte flushed before the kill is there.
 * {@code -Dvstore.killIterations=N} sets the number of kills (default 20, 3 under CI=true); each
 * iteration prints its seed, and {@code -Dvstore.killSeed=S} replays from seed S.
 */
@Tag("slow")
final class DaemonKillTest {
  private static final boolean CI = "true".equals(System.getenv("CI"));
  private static final int BLOCK = 4096;
  private static final long VOLUME = 64L << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private static int iterations() {
    String set = System.getProperty("vstore.killIterations", "").strip();
    if (set.isEmpty()) {
      return CI ? 3 : 20;
    }
    int n;
    try {
      n = Integer.parseInt(set);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("-Dvstore.killIterations=" + set + " is not a number of iterations", e);
    }
    if (n <= 0) {
      throw new IllegalArgumentException("-Dvstore.killIterations=" + set + " must be positive");
    }
    return n;
  }

  /** A running {@code vstore serve} and the NBD port it serves exports on. */
  private record Server(Process process, int nbdPort, Path log) implements AutoCloseable {
    @Override
    public void close() {
      process.destroyForcibly();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private Server serve(Path ds, String name) throws Exception {
    int nbd = freePort();
    Path log = tmp.resolve(name + ".log");
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-cp",
        System.getProperty("java.class.path"), Vstore.class.getName(), "serve", "-D", ds.toString(),
        "--nbd-listen", "127.0.0.1:" + nbd);
    Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    for (String line = out.readLine(); line != null; line = out.readLine()) {
      if (line.startsWith("stop with Ctrl-C")) {
        Thread.ofVirtual().start(() -> drain(p.getInputStream()));
        return new Server(p, nbd, log);
      }
    }
    p.waitFor(30, TimeUnit.SECONDS);
    throw new AssertionError("vstore serve exited before serving; stderr: " + Files.readString(log));
  }

  private static void drain(InputStream in) {
    try (in) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    } catch (IOException e) {
      // the process is gone
    }
  }

  /** Writes a raw image of {@code size} bytes: random data with a hole every fourth MiB. */
  private static void rawImage(Path file, long size) throws IOException {
    Random r = new Random(7);
    byte[] mib = new byte[1 << 20];
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (long off = 0; off < size; off += mib.length) {
        if ((off >> 20) % 4 != 3) {
          r.nextBytes(mib);
          ch.write(ByteBuffer.wrap(mib), off);
        }
      }
      ch.truncate(size);
      if (ch.size() < size) {
        ch.write(ByteBuffer.wrap(new byte[1]), size - 1);
      }
    }
  }

  /**
   * What each 4 KiB block of the volume may hold: the pattern byte last written and flushed, plus
   * the patterns of writes that were in flight at a kill (they may or may not have landed).
   */
  private static final class Model {
    final byte[] flushed = new byte[(int) (VOLUME / BLOCK)];
    final Map<Integer, Set<Byte>> maybe = new java.util.HashMap<>();

    synchronized void flushed(long offset, int length, byte pattern) {
      for (int b = (int) (offset / BLOCK); b < (offset + length) / BLOCK; b++) {
        flushed[b] = pattern;
        maybe.remove(b);
      }
    }

    synchronized void inFlight(long offset, int length, byte pattern) {
      for (int b = (int) (offset / BLOCK); b < (offset + length) / BLOCK; b++) {
        maybe.computeIfAbsent(b, k -> new HashSet<>()).add(pattern);
      }
    }

    /** Checks the volume against the model and then takes what it holds as the new flushed state. */
    synchronized void verify(Volume v, String where) throws IOException {
      ByteBuffer buf = ByteBuffer.allocate(BLOCK);
      for (int b = 0; b < flushed.length; b++) {
        v.read((long) b * BLOCK, buf.clear());
        byte[] got = buf.array();
        Set<Byte> allowed = new HashSet<>(maybe.getOrDefault(b, Set.of()));
        allowed.add(flushed[b]);
        byte first = got[0];
        for (byte x : got) {
          assertThat(x).as("%s: block %d (at %d) holds a mix of patterns", where, b, (long) b * BLOCK).isEqualTo(first);
        }
        assertThat(allowed).as("%s: block %d (at %d) holds pattern %d; flushed %d, in flight %s", where, b,
            (long) b * BLOCK, first, flushed[b], maybe.get(b)).contains(first);
        flushed[b] = first;
      }
      maybe.clear();
    }
  }

  /** Runs qemu-io against the export: writes, flushes; returns its exit status and output. */
  private static String[] qemuIo(int port, String... commands) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add("nbd://127.0.0.1:" + port + "/vm1");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return new String[] {"timeout", text};
    }
    return new String[] {String.valueOf(p.exitValue()), text};
  }

  private static JsonNode submit(DaemonClient c, Path cwd, String... argv) throws IOException {
    return c.call("POST", "/api/v1/commands", Map.of("argv", List.of(argv), "cwd", cwd.toString(), "wait", false));
  }

  /** Runs a command through the daemon to its end and returns its NDJSON lines. */
  private static List<JsonNode> command(DaemonClient c, Path cwd, String... argv) throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(c.stream("POST", "/api/v1/commands",
        Map.of("argv", List.of(argv), "cwd", cwd.toString(), "wait", true)), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        lines.add(JSON.readTree(line));
      }
    }
    return lines;
  }

  @Test
  void sigkillDuringJobsAndNbdWritesLosesNothingFlushed() throws Exception {
    Path ds = tmp.resolve("ds");
    Path raw = tmp.resolve("source.raw");
    rawImage(raw, (CI ? 64L : 256L) << 20);
    try (Datastore d = Datastore.create(ds, DatastoreOptions.defaults(), 0); Volume v = d.createVolume("vm1", VOLUME)) {
      assertThat(v.size()).isEqualTo(VOLUME);
    }
    try (Server s = serve(ds, "setup"); DaemonClient c = DaemonClient.local(ds).orElseThrow()) {
      c.call("POST", "/api/v1/exports", Map.of("spec", "vm1", "name", "vm1")); // persists across restarts
      s.process().destroy();
      assertThat(s.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
    Model model = new Model();
    long firstSeed = Long.getLong("vstore.killSeed", System.nanoTime());
    int iterations = iterations();
    System.out.println("kill -9 loop: " + iterations + " iterations, first seed " + firstSeed);
    for (int k = 0; k < iterations; k++) {
      long seed = firstSeed + k;
      Random random = new Random(seed);
      String where = "iteration " + k + " (seed " + seed + ")";
      String importId;
      String checkId;
      int writes;
      try (Server s = serve(ds, "run-" + k); DaemonClient c = DaemonClient.local(ds).orElseThrow()) {
        AtomicBoolean killing = new AtomicBoolean();
        AtomicReference<String> nbdError = new AtomicReference<>();
        AtomicInteger flushedWrites = new AtomicInteger();
        Random writeRandom = new Random(random.nextLong());
        Thread writer = Thread.ofPlatform().name("nbd-writer").start(() -> {
          try {
            while (!killing.get()) {
              int length = BLOCK * (1 + writeRandom.nextInt(64));
              long offset = (long) BLOCK * writeRandom.nextInt((int) ((VOLUME - length) / BLOCK));
              byte pattern = (byte) (1 + writeRandom.nextInt(255));
              model.inFlight(offset, length, pattern);
              String[] r = qemuIo(s.nbdPort(), "write -P " + (pattern & 0xff) + " " + offset + " " + length, "flush");
              if (r[0].equals("0") && !r[1].contains("failed")) {
                model.flushed(offset, length, pattern);
                flushedWrites.incrementAndGet();
              } else if (!killing.get()) {
                nbdError.set("qemu-io exit " + r[0] + ": " + r[1]);
                return;
              }
            }
          } catch (Exception e) {
            nbdError.set(e.toString());
          }
        });
        long firstWrite = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (flushedWrites.get() == 0 && writer.isAlive() && System.nanoTime() < firstWrite) {
          Thread.sleep(10); // the writes are under way before the jobs start
        }
        importId = submit(c, tmp, "volume", "import", "-D", ds.toString(), raw.toString(), "imp" + k).get("id").asText();
        checkId = submit(c, tmp, "datastore", "check", "-D", ds.toString()).get("id").asText();
        // Kill at a random moment once the import runs: sometimes during it, sometimes after it.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < until
            && c.call("GET", "/api/v1/jobs/" + importId, null).get("state").asText().equals("queued")) {
          Thread.sleep(10);
        }
        Thread.sleep(random.nextInt(1500));
        killing.set(true);
        s.process().destroyForcibly(); // SIGKILL
        assertThat(s.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        writer.join();
        writes = flushedWrites.get();
        assertThat(nbdError.get()).as("%s: NBD error before the kill", where).isNull();
      }
      try (Server s = serve(ds, "restart-" + k); DaemonClient c = DaemonClient.local(ds).orElseThrow()) {
        String states = "";
        for (String id : List.of(importId, checkId)) {
          JsonNode job = c.call("GET", "/api/v1/jobs/" + id, null);
          String state = job.get("state").asText();
          if (state.equals("queued") || state.equals("running")) { // resumed: let it end
            job = c.call("GET", "/api/v1/jobs/" + id + "/wait", null);
            state = job.get("state").asText();
          }
          assertThat(state).as("%s: job %s (%s) after the restart: %s", where, id, job.get("kind").asText(), job)
              .isIn("succeeded", "interrupted");
          states += " " + job.get("kind").asText() + "=" + state;
        }
        List<JsonNode> check = command(c, tmp, "datastore", "check", "-D", ds.toString());
        String out = check.stream().filter(l -> l.has("out")).map(l -> l.get("out").asText()).reduce("", String::concat);
        assertThat(check.getLast().path("exit").asInt(-1)).as("%s: datastore check: %s", where, check).isZero();
        assertThat(out).as("%s", where).contains("no problems found");
        System.out.println(where + ": killed after " + writes + " flushed NBD writes; jobs:" + states
            + "; datastore check clean");
        s.process().destroy();
        assertThat(s.process().waitFor(60, TimeUnit.SECONDS)).as("%s: clean stop", where).isTrue();
      }
      try (Datastore d = Datastore.open(ds, DatastoreOptions.defaults())) {
        try (Volume v = d.volume("vm1", true)) {
          model.verify(v, where);
        }
        if (d.hasVolume("imp" + k)) {
          d.deleteVolume("imp" + k); // keeps the datastore small over many iterations
        }
        CheckReport report = d.check();
        assertThat(report.problems()).as("%s: offline check", where).isEmpty();
      }
    }
  }
}
