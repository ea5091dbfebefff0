package io.vstore.offline.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.server.Checkouts;
import io.vstore.offline.NoCommands;
import io.vstore.server.CommandRunner;
import io.vstore.server.Daemon;
import io.vstore.server.DaemonConfig;
import io.vstore.server.auth.Scope;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Check-out over the daemon's HTTPS listener with a self-signed certificate ({@code --ca-cert}), as
 * users and the benchmark run it; the copy must equal the server's disk byte for byte whatever the
 * TLS record and frame boundaries.
 */
class TlsCheckoutTest {
  private static final long DISK = 40L << 20;
  private static final char[] PASS = "correct horse".toCharArray();
  private static final CommandRunner NO_COMMANDS = NoCommands.RUNNER;

  @TempDir Path tmp;

  private Path certificate(String name) throws Exception {
    Path certs = Files.createDirectories(tmp.resolve(name));
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-keyout", certs.resolve("key.pem").toString(),
        "-out", certs.resolve("cert.pem").toString(), "-subj", "/CN=localhost", "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost")
        .redirectErrorStream(true).redirectOutput(certs.resolve("openssl.log").toFile()).start();
    assertThat(openssl.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(openssl.exitValue()).as(Files.readString(certs.resolve("openssl.log"))).isZero();
    return certs;
  }

  @Test
  void aCheckOutOverHttpsEqualsTheServersDisk() throws Exception {
    long seed = System.nanoTime();
    Random rnd = new Random(seed);
    byte[] model = new byte[(int) DISK];
    // Random 1 MiB pieces, compressible runs and odd-sized pieces across chunk boundaries, holes between.
    for (int i = 0; i < 20; i++) {
      int at = rnd.nextInt((int) DISK - (1 << 20));
      int n = 1 + rnd.nextInt(1 << 20);
      if (rnd.nextBoolean()) {
        byte[] piece = new byte[n];
        rnd.nextBytes(piece);
        System.arraycopy(piece, 0, model, at, n);
      } else {
        Arrays.fill(model, at, at + n, (byte) (1 + rnd.nextInt(255)));
      }
    }
    Path certs = certificate("certs");
    Path ds = tmp.resolve("server");
    Datastore.create(ds, DatastoreOptions.defaults(), 4L << 30).close();
    DaemonConfig config = new DaemonConfig(List.of(ds), false, new InetSocketAddress("127.0.0.1", 0),
        certs.resolve("cert.pem"), certs.resolve("key.pem"), null, null, 1);
    try (Daemon daemon = Daemon.start(config, NO_COMMANDS)) {
      Checkouts.install(daemon, 4);
      String token = daemon.tokens().create("alice", Scope.WRITE).secret();
      var managed = daemon.all().getFirst();
      managed.inventory().vms().create("desk", List.of(DISK), JsonNodeFactory.instance.objectNode());
      try (Volume v = managed.store().volume("desk-disk0")) {
        v.write(0, ByteBuffer.wrap(model));
        v.flush();
      }
      String url = "https://127.0.0.1:" + daemon.api().tcpPort();

      // A certificate the client was not told to trust is refused before anything is checked out.
      Path other = certificate("other");
      assertThatThrownBy(() -> OfflineCopy.checkout("desk", url, token, other.resolve("cert.pem"), tmp.resolve("refused"),
          PASS, OfflineCopy.Progress.NONE)).isInstanceOf(IOException.class).hasMessageContaining("cannot reach the server");

      Path dir = tmp.resolve("laptop");
      OfflineCopy.checkout("desk", url, token, certs.resolve("cert.pem"), dir, PASS, OfflineCopy.Progress.NONE);
      try (OfflineCopy.Opened copy = OfflineCopy.open(dir, PASS, Instant.now());
          Volume v = copy.store().volume("desk-disk0", true)) {
        ByteBuffer b = ByteBuffer.allocate((int) DISK);
        v.read(0, b);
        assertThat(Arrays.mismatch(b.array(), model)).as("first differing byte (seed %d)", seed).isEqualTo(-1);
      }
    }
  }
}
