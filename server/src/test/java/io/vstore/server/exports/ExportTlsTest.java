package io.vstore.server.exports;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.Daemon;
import io.vstore.server.DaemonConfig;
import io.vstore.server.Event;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's TLS certificate also secures its NBD exports (STARTTLS). */
class ExportTlsTest {
  @TempDir Path dir;

  @Test
  void exportsOfADaemonWithACertificateOfferTls() throws Exception {
    Peers.run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString(),
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    // libnbd looks for the CA certificate under this name in its certificate directory.
    Files.copy(dir.resolve("cert.pem"), dir.resolve("ca-cert.pem"));
    Path ds = dir.resolve("ds");
    try (Datastore d = Datastore.create(ds, DatastoreOptions.defaults(), 64L << 30);
        Volume v = d.createVolume("vm1", 8L << 20)) {
      assertThat(v.size()).isEqualTo(8L << 20);
    }
    InetSocketAddress loopback = new InetSocketAddress("127.0.0.1", 0);
    DaemonConfig config = new DaemonConfig(List.of(ds), false, loopback, dir.resolve("cert.pem"),
        dir.resolve("key.pem"), loopback, null, 2);
    try (Daemon daemon = Daemon.start(config, null)) {
      ExportInfo vm1 = daemon.exports().add("vm1", null, false, List.of(), null);
      int port = daemon.exports().nbdAddress().getPort();
      assertThat(vm1.uri()).isEqualTo("nbds://127.0.0.1:" + port + "/vm1");
      assertThat(Peers.run("nbdinfo", vm1.uri() + "?tls-certificates=" + dir)).contains("with TLS");
      // On loopback TLS is offered, not required.
      assertThat(Peers.run("nbdinfo", "nbd://127.0.0.1:" + port + "/vm1")).contains("without TLS");
      List<Object> tls = daemon.events().recent(0).stream().filter(e -> e.type().equals("nbd.connected"))
          .map(Event::data).map(m -> m.get("tls")).toList();
      assertThat(tls).containsExactly(true, false);
    }
  }
}
