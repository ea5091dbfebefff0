package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL of {@code vstore serve} (a child JVM) at a random moment of a replica's resync, then a
 * restart: the pair resumes from its pin and converges; after a clean stop the two volumes are
 * equal byte for byte and {@code datastore check} is clean on both. Each iteration prints its seed.
 */
@Tag("slow")
final class ReplicaKillTest {
  private static final boolean CI = "true".equals(System.getenv("CI"));
  private static final long SIZE = 64L << 20;

  @TempDir Path tmp;

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private record Server(Process process, int nbdPort) {}

  private Server serve(Path a, Path b) throws Exception {
    int nbd = freePort();
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-cp",
        System.getProperty("java.class.path"), Vstore.class.getName(), "serve", "-D", a.toString(), "-D", b.toString(),
        "--nbd-listen", "127.0.0.1:" + nbd);
    Path log = tmp.resolve("serve.log");
    Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    for (String line = out.readLine(); line != null; line = out.readLine()) {
      if (line.startsWith("stop with Ctrl-C")) {
        Thread.ofVirtual().start(() -> {
          try {
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
          } catch (IOException e) {
            // the process is gone
          }
        });
        return new Server(p, nbd);
      }
    }
    p.waitFor(30, TimeUnit.SECONDS);
    throw new AssertionError("vstore serve exited before serving; stderr: " + Files.readString(log));
  }

  private static CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
    return r;
  }

  private static String state(Path a) throws IOException {
    JsonNode list = new ObjectMapper().readTree(ok("replica", "list", "-D", a.toString(), "--json").out());
    for (JsonNode s : list) {
      if (s.get("role").asText().equals("PRIMARY")) {
        return s.get("state").asText() + " " + s.get("lastError").asText();
      }
    }
    return "none";
  }

  private static void awaitActive(Path a) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    String s = state(a);
    while (!s.startsWith("ACTIVE ")) {
      assertThat(System.nanoTime()).as("replica stuck: %s", s).isLessThan(deadline);
      Thread.sleep(100);
      s = state(a);
    }
  }

  private static void qemuIo(int port, List<String> commands) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add("nbd://127.0.0.1:" + port + "/vm");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(text).isZero();
  }

  @Test
  void sigkillDuringAResyncResumesItAndBothSidesEndEqual() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-io")), "qemu-io not installed (qemu-utils)");
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    try (Datastore d = Datastore.create(a, DatastoreOptions.defaults(), 64L << 30); Volume v = d.createVolume("vm", SIZE)) {
      byte[] data = new byte[16 << 20];
      new Random(1).nextBytes(data);
      v.write(0, ByteBuffer.wrap(data));
    }
    Datastore.create(b, DatastoreOptions.defaults(), 64L << 30).close();
    Server s = serve(a, b);
    try {
      ok("replica", "create", "-D", a.toString(), "vm", "--to", b.toString(), "--id", "k1");
      ok("export", "add", "-D", a.toString(), "vm", "--datastore-name", "a");
      awaitActive(a);
      long firstSeed = Long.getLong("vstore.killSeed", System.nanoTime());
      for (int i = 0; i < (CI ? 2 : 4); i++) {
        long seed = firstSeed + i;
        Random rnd = new Random(seed);
        ok("replica", "pause", "-D", a.toString(), "k1");
        List<String> writes = new ArrayList<>();
        for (int w = 0; w < 200; w++) {
          writes.add(String.format("write -P 0x%02x %d 64k", rnd.nextInt(256), 65536L * rnd.nextInt((int) (SIZE / 65536))));
        }
        writes.add("flush");
        qemuIo(s.nbdPort(), writes);
        ok("replica", "resume", "-D", a.toString(), "k1");
        Thread.sleep(rnd.nextInt(400));
        s.process().destroyForcibly(); // SIGKILL, mid-resync or just after
        assertThat(s.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        System.out.println("replica kill loop: iteration " + i + ", seed " + seed);
        s = serve(a, b);
        awaitActive(a);
      }
    } finally {
      s.process().destroy(); // SIGTERM: a clean stop
      s.process().waitFor(60, TimeUnit.SECONDS);
    }
    try (Datastore da = Datastore.open(a, DatastoreOptions.defaults()); Datastore db = Datastore.open(b, DatastoreOptions.defaults());
        Volume x = da.volume("vm", true); Volume y = db.volume("vm", true)) {
      ByteBuffer p = ByteBuffer.allocate(1 << 20);
      ByteBuffer q = ByteBuffer.allocate(1 << 20);
      for (long off = 0; off < SIZE; off += p.capacity()) {
        x.read(off, p.clear());
        y.read(off, q.clear());
        assertThat(p.array()).as("the MiB at %d", off).isEqualTo(q.array());
      }
      assertThat(da.check().problems()).isEmpty();
      assertThat(db.check().problems()).isEmpty();
    }
  }
}
