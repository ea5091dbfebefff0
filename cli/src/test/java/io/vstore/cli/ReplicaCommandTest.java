package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.nbd.Export;
import io.vstore.nbd.ExportRegistry;
import io.vstore.nbd.NbdServer;
import io.vstore.server.TestDaemon;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vstore replica} against a daemon with two datastores: fio verifies through the primary's
 * export while it replicates; an NBD secondary behind a TCP proxy that is cut, stalled and slowed
 * catches up after each fault; promote fences the old primary and re-protect turns the pair around.
 */
final class ReplicaCommandTest {
  private static final long SIZE = 48L << 20;
  private static final boolean CI = "true".equals(System.getenv("CI"));

  @TempDir Path tmp;
  private final long seed = System.nanoTime();
  private final Random rnd = new Random(seed);

  private static CliRun vstore(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
    return r;
  }

  private static JsonNode json(String... args) throws IOException {
    return new ObjectMapper().readTree(vstore(args).out());
  }

  private static void awaitState(Path ds, String id, String role, String state) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (true) {
      for (JsonNode s : json("replica", "list", "-D", ds.toString(), "--json")) {
        if (s.get("id").asText().equals(id) && s.get("role").asText().equals(role)) {
          if (s.get("state").asText().equals(state)) {
            return;
          }
          assertThat(System.nanoTime()).as("replica %s stuck in %s (%s)", id, s.get("state"), s.get("lastError"))
              .isLessThan(deadline);
        }
      }
      assertThat(System.nanoTime()).as("replica %s never became %s", id, state).isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  private static void assertSameContent(BlockDevice x, BlockDevice y, String what) throws IOException {
    ByteBuffer a = ByteBuffer.allocate(1 << 20);
    ByteBuffer b = ByteBuffer.allocate(1 << 20);
    for (long off = 0; off < SIZE; off += a.capacity()) {
      x.read(off, a.clear());
      y.read(off, b.clear());
      assertThat(a.array()).as("%s: the MiB at %d differs", what, off).isEqualTo(b.array());
    }
  }

  private void randomWrites(Volume v, int count) throws IOException {
    for (int i = 0; i < count; i++) {
      byte[] data = new byte[4096 * (1 + rnd.nextInt(16))];
      rnd.nextBytes(data);
      v.write(4096L * rnd.nextInt((int) ((SIZE - data.length) / 4096)), ByteBuffer.wrap(data));
    }
    v.flush();
  }

  private static boolean fioHasNbd() {
    try {
      Process p = new ProcessBuilder("fio", "--enghelp=nbd").redirectErrorStream(true).start();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  @Test
  void replicatesToADatastoreWhileFioVerifiesThenFailsOverAndReprotects() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    try (Datastore d = Datastore.create(a, DatastoreOptions.defaults(), 64L << 30); Volume v = d.createVolume("vm", SIZE)) {
      byte[] data = new byte[8 << 20];
      rnd.nextBytes(data);
      v.write(0, ByteBuffer.wrap(data));
    }
    try (TestDaemon daemon = TestDaemon.start(null, a, b)) {
      Datastore da = daemon.daemon().find(a).orElseThrow().store();
      Datastore db = daemon.daemon().find(b).orElseThrow().store();
      JsonNode created = json("replica", "create", "-D", a.toString(), "vm", "--to", b.toString(), "--id", "p1", "--json");
      assertThat(created.get("role").asText()).isEqualTo("PRIMARY");
      awaitState(a, "p1", "PRIMARY", "ACTIVE");
      assertThat(vstore("replica", "list", "-D", a.toString()).out()).contains("p1", "PRIMARY", "ACTIVE", "SECONDARY");

      if (fioHasNbd()) {
        vstore("export", "add", "-D", a.toString(), "vm", "--datastore-name", "a");
        int port = daemon.daemon().exports().nbdAddress().getPort();
        Process fio = new ProcessBuilder("fio", "--name=verify", "--ioengine=nbd", "--uri=nbd://127.0.0.1:" + port + "/vm",
            "--rw=randwrite", "--bsrange=4k-128k", "--iodepth=16", "--size=" + (CI ? 16 : 40) + "M", "--verify=crc32c",
            "--verify_fatal=1", "--do_verify=1", "--verify_state_save=0").redirectErrorStream(true).start();
        // A pause and a resume while fio writes: the resync runs under its load.
        Thread.sleep(200);
        vstore("replica", "pause", "-D", a.toString(), "p1");
        Thread.sleep(200);
        vstore("replica", "resume", "-D", a.toString(), "p1");
        assertThat(fio.waitFor(300, TimeUnit.SECONDS)).as("fio finished").isTrue();
        String out = new String(fio.getInputStream().readAllBytes());
        assertThat(fio.exitValue()).as(out).isZero();
        assertThat(out).doesNotContain("verify: bad");
        vstore("export", "remove", "-D", a.toString(), "vm");
      } else {
        Assertions.fail("fio without its nbd engine: install fio (Debian package) to run the verify part");
      }
      awaitState(a, "p1", "PRIMARY", "ACTIVE");
      try (Volume x = da.volume("vm", true); Volume y = db.volume("vm", true)) {
        assertSameContent(x, y, "A and B after fio (seed " + seed + ")");
      }
      assertThat(vstore("replica", "info", "-D", a.toString(), "p1").out()).contains("bytes behind:  0 B");
      String metrics = daemon.unix("GET", "/metrics", null).body();
      assertThat(metrics).contains("vstore_replica_bytes_behind_bytes{replica=\"p1\"");

      // Failover: promote B; A's next write is refused; re-protect from B sends only the divergence.
      vstore("replica", "promote", "-D", b.toString(), "p1");
      try (Volume v = da.volume("vm")) {
        Assertions.assertThatThrownBy(() -> randomWrites(v, 1)).isInstanceOf(ReadOnlyDeviceException.class)
            .hasMessageContaining("fenced");
      }
      try (Volume v = db.volume("vm")) {
        randomWrites(v, 30);
      }
      JsonNode back = json("replica", "create", "-D", b.toString(), "vm", "--to", a.toString(), "--json");
      assertThat(back.get("epoch").asLong()).isEqualTo(2);
      awaitState(b, "p1", "PRIMARY", "ACTIVE");
      JsonNode side = json("replica", "info", "-D", b.toString(), "p1", "--json").get(0);
      assertThat(side.get("bytesSent").asLong()).as("re-protect copies the divergence, not the volume")
          .isLessThan(SIZE / 4);
      try (Volume x = da.volume("vm", true); Volume y = db.volume("vm", true)) {
        assertSameContent(x, y, "A and B after re-protect (seed " + seed + ")");
      }
      assertThat(daemon.daemon().events().recent(0)).anyMatch(e -> e.type().equals("replica.promoted"))
          .anyMatch(e -> e.type().equals("replica.fenced")).anyMatch(e -> e.type().equals("replica.in-sync"));
      vstore("replica", "remove", "-D", b.toString(), "p1");
      assertThat(vstore("replica", "list", "-D", a.toString()).out()).isEqualTo("no replicas\n");
    }
  }

  @Test
  void anNbdSecondaryBehindABrokenLinkCatchesUpAfterEveryFault() throws Exception {
    System.setProperty("vstore.replica.nbd-timeout-ms", "2000");
    Path a = tmp.resolve("a");
    try (Datastore d = Datastore.create(a, DatastoreOptions.defaults(), 64L << 30)) {
      d.createVolume("vm", SIZE).close();
    }
    MemoryBlockDevice remote = new MemoryBlockDevice("remote", SIZE);
    ExportRegistry registry = new ExportRegistry();
    registry.add(Export.of("remote", remote));
    try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback());
        TcpProxy proxy = new TcpProxy(server.port());
        TestDaemon daemon = TestDaemon.start(null, a)) {
      Datastore da = daemon.daemon().find(a).orElseThrow().store();
      vstore("replica", "create", "-D", a.toString(), "vm", "--to", "nbd://127.0.0.1:" + proxy.port() + "/remote",
          "--id", "n1");
      awaitState(a, "n1", "PRIMARY", "ACTIVE");
      for (int round = 0; round < (CI ? 3 : 6); round++) {
        int fault = round % 3;
        try (Volume v = da.volume("vm")) {
          randomWrites(v, 20);
          switch (fault) {
            case 0 -> proxy.cut();
            case 1 -> proxy.stall();
            default -> proxy.delay(5);
          }
          randomWrites(v, 40); // acknowledged whatever the link does
          if (fault != 2) {
            awaitState(a, "n1", "PRIMARY", "DISCONNECTED");
          }
          proxy.heal();
          randomWrites(v, 10);
        }
        awaitState(a, "n1", "PRIMARY", "ACTIVE");
        try (Volume x = da.volume("vm", true)) {
          assertSameContent(x, remote, "the NBD secondary after fault " + fault + " (seed " + seed + ")");
        }
      }
      assertThat(daemon.daemon().events().recent(0)).anyMatch(e -> e.type().equals("replica.disconnected"));
    } finally {
      System.clearProperty("vstore.replica.nbd-timeout-ms");
    }
    assertThat(Files.exists(a.resolve("replicas").resolve("n1.json"))).isTrue();
  }
}
