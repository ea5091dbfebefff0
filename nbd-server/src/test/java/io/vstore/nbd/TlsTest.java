package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** STARTTLS with a self-signed certificate made by openssl in the test, checked with libnbd and QEMU. */
class TlsTest {
  @TempDir Path dir;

  private SSLContext context() throws IOException {
    Peer.run(60, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString(),
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    // libnbd and QEMU look for the CA certificate under this name in their certificate directory.
    Files.copy(dir.resolve("cert.pem"), dir.resolve("ca-cert.pem"));
    return TlsContexts.fromPem(dir.resolve("cert.pem"), dir.resolve("key.pem"));
  }

  private NbdServer server(MemoryBlockDevice disk, boolean require) throws IOException {
    ExportRegistry registry = new ExportRegistry();
    registry.add(Export.of("disk", disk));
    return NbdServer.start(registry, new NbdServer.Options(InetAddress.getLoopbackAddress(), 0, context(), require));
  }

  @Test
  void requiredTlsServesLibnbdAndQemuAndRefusesPlainClients() throws Exception {
    MemoryBlockDevice disk = new MemoryBlockDevice("disk", 8 << 20);
    try (NbdServer server = server(disk, true)) {
      String uri = "nbds://127.0.0.1:" + server.port() + "/disk?tls-certificates=" + dir;
      assertThat(Peer.run(30, "nbdinfo", uri)).contains("with TLS").contains("export-size: 8388608");
      String creds = "tls-creds-x509,id=tls0,dir=" + dir + ",endpoint=client";
      String opts = "driver=nbd,host=127.0.0.1,port=" + server.port() + ",export=disk,tls-creds=tls0";
      Peer.run(60, "qemu-io", "--object", creds, "--image-opts", opts, "-c", "write -P 0x3c 0 64k", "-c", "read -P 0x3c 0 64k");
      ByteBuffer b = ByteBuffer.allocate(65536);
      disk.read(0, b);
      assertThat(b.array()).containsOnly((byte) 0x3c);
      assertThat(Peer.runAllowingFailure(30, "nbdinfo", "nbd://127.0.0.1:" + server.port() + "/disk").exit()).isNotZero();
      try (TestClient plain = new TestClient(server.port()).greet()) {
        assertThat(plain.option(Nbd.OPT_GO, TestClient.goData("disk")).getLast().type()).isEqualTo(Nbd.REP_ERR_TLS_REQD);
        assertThat(plain.option(Nbd.OPT_LIST, new byte[0]).getLast().type()).isEqualTo(Nbd.REP_ERR_TLS_REQD);
        plain.sendOption(Nbd.OPT_EXPORT_NAME, "disk".getBytes());
        assertThat(plain.closedByServer()).isTrue();
      }
    }
  }

  @Test
  void optionalTlsServesBothKindsOfClient() throws Exception {
    MemoryBlockDevice disk = new MemoryBlockDevice("disk", 8 << 20);
    try (NbdServer server = server(disk, false)) {
      assertThat(Peer.run(30, "nbdinfo", "nbds://127.0.0.1:" + server.port() + "/disk?tls-certificates=" + dir))
          .contains("with TLS");
      assertThat(Peer.run(30, "nbdinfo", "nbd://127.0.0.1:" + server.port() + "/disk")).contains("without TLS");
    }
  }

  @Test
  void keysThatAreNotPkcs8PemAreRefusedClearly() throws Exception {
    context();
    Path bad = dir.resolve("bad.pem");
    Files.writeString(bad, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
    assertThatThrownBy(() -> TlsContexts.fromPem(dir.resolve("cert.pem"), bad))
        .isInstanceOf(IOException.class).hasMessageStartingWith("bad key: ").hasMessageContaining("PKCS#8");
    assertThatThrownBy(() -> TlsContexts.fromPem(bad, dir.resolve("key.pem")))
        .isInstanceOf(IOException.class).hasMessageStartingWith("bad certificate: ");
  }
}
