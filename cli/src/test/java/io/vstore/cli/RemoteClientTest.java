package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.server.Daemon;
import io.vstore.server.DaemonConfig;
import io.vstore.server.TestDaemon;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --remote} over TCP with tokens (and TLS 1.3), and the token commands. */
final class RemoteClientTest {
  @TempDir Path tmp;

  private static CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
    return r;
  }

  private static String fails(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as(String.join(" ", args) + ": " + r.out()).isEqualTo(1);
    assertThat(r.err().strip().lines()).as("one-line error").hasSize(1);
    return r.err().strip();
  }

  @Test
  void remoteCommandsNeedATokenWhoseScopeAllowsThem() throws Exception {
    Path ds = tmp.resolve("ds");
    String d = ds.toString();
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), ds)) {
      String url = daemon.baseUrl();
      String admin = daemon.adminToken();

      // Global options before or after the command; no -D: the daemon's first datastore.
      assertThat(ok("--remote", url, "--token", admin, "volume", "create", "v", "1M").out())
          .startsWith("created volume v (");
      assertThat(ok("volume", "list", "--json", "--remote", url, "--token", admin).json().get(0).get("name").asText())
          .isEqualTo("v");

      JsonNode reader = ok("token", "create", "-D", d, "reader", "--scope", "read", "--json").json();
      assertThat(reader.get("scope").asText()).isEqualTo("read");
      String readToken = reader.get("token").asText();
      String writeToken = ok("-D", d, "token", "create", "writer", "--scope", "write", "--json").json().get("token").asText();
      assertThat(ok("token", "create", "-D", d, "plain").out()).contains("scope read").contains("vst_");

      assertThat(ok("--remote", url, "--token", readToken, "volume", "info", "v").out()).contains("volume: v");
      assertThat(fails("--remote", url, "--token", readToken, "snapshot", "create", "v@s"))
          .isEqualTo("vstore: token reader has scope read; this needs write");
      assertThat(ok("--remote", url, "--token", writeToken, "snapshot", "create", "v@s").out())
          .startsWith("created snapshot v@s");
      // A file argument names a file of the daemon's host: admin only.
      Path data = Files.write(tmp.resolve("data"), new byte[4096]);
      assertThat(fails("--remote", url, "--token", writeToken, "volume", "write", "v", "0", data.toString()))
          .isEqualTo("vstore: token writer has scope write; this needs admin");
      assertThat(ok("--remote", url, "--token", admin, "volume", "write", "v", "0", data.toString()).out())
          .isEqualTo("wrote 4096 bytes to volume v at offset 0\n");
      assertThat(fails("--remote", url, "volume", "list")).contains("missing credentials");
      assertThat(fails("--remote", url, "--token", "vst_00000000_wrong", "volume", "list"))
          .isEqualTo("vstore: unknown or revoked token");
      // Errors of the command itself come back as they are.
      assertThat(fails("--remote", url, "--token", admin, "volume", "info", "nothere")).startsWith("vstore: no volume");

      JsonNode tokens = ok("token", "list", "-D", d, "--json").json();
      assertThat(tokens).extracting(t -> t.get("name").asText()).containsExactly("admin", "reader", "writer", "plain");
      assertThat(tokens.toString()).doesNotContain(readToken.substring(13)).doesNotContain("sha256");
      assertThat(ok("token", "list", "--remote", url, "--token", admin).out()).contains("reader").contains("admin");
      assertThat(fails("token", "list", "--remote", url, "--token", writeToken))
          .isEqualTo("vstore: token writer has scope write; this needs admin");
      assertThat(ok("token", "revoke", "-D", d, "reader").out()).isEqualTo("revoked token reader\n");
      assertThat(fails("--remote", url, "--token", readToken, "volume", "list"))
          .isEqualTo("vstore: unknown or revoked token");
      assertThat(fails("token", "revoke", "-D", d, "reader")).isEqualTo("vstore: no token reader");
      assertThat(fails("token", "create", "-D", d, "bad name")).startsWith("vstore: invalid token name 'bad name'");

      // A job command with --no-wait prints the job id and returns; the job runs on in the daemon.
      String id = ok("datastore", "check", "-D", d, "--no-wait").out().strip();
      assertThat(id).isNotEmpty().doesNotContain(" ");
      assertThat(ok("job", "wait", "-D", d, id).exit()).isZero();
      assertThat(ok("job", "show", "-D", d, id, "--json").json().get("kind").asText()).isEqualTo("check");
      assertThat(ok("job", "list", "--remote", url, "--token", admin).out()).contains(id);
      // Waiting for a job command streams its output as if it ran here.
      assertThat(ok("datastore", "check", "-D", d).out()).contains("no problems found");
      // --no-wait is for job commands only (and needs a daemon).
      assertThat(fails("-D", d, "volume", "list", "--no-wait")).contains("--no-wait applies only to commands that run as jobs");
    }
    // Without a daemon: token commands say so, and --no-wait has nothing to wait for.
    assertThat(fails("token", "list", "-D", d)).contains("goes through the daemon").contains("vstore.sock");
    assertThat(fails("datastore", "clean", "-D", d, "--no-wait")).contains("--no-wait needs a daemon");
  }

  @Test
  void remoteOverTls13TrustsTheGivenCertificate() throws Exception {
    Path ds = tmp.resolve("ds");
    Datastore.create(ds, DatastoreOptions.defaults(), 1L << 30).close();
    Path cert = tmp.resolve("cert.pem");
    Path key = tmp.resolve("key.pem");
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", key.toString(), "-out", cert.toString(), "-subj", "/CN=localhost",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost").redirectErrorStream(true)
        .redirectOutput(tmp.resolve("openssl.log").toFile()).start();
    assertThat(openssl.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(openssl.exitValue()).as(Files.readString(tmp.resolve("openssl.log"))).isZero();
    DaemonConfig config = new DaemonConfig(List.of(ds), false, new InetSocketAddress("127.0.0.1", 0), cert, key,
        new InetSocketAddress("127.0.0.1", 0), null, 2);
    try (Daemon daemon = Daemon.start(config, new CliCommandRunner())) {
      String url = "https://127.0.0.1:" + daemon.api().tcpPort();
      String admin = Files.readString(ds.resolve("admin.token")).strip();
      assertThat(ok("--remote", url, "--token", admin, "--ca-cert", cert.toString(), "volume", "create", "t", "1M").out())
          .startsWith("created volume t (");
      // Without the certificate the daemon is not trusted.
      assertThat(fails("--remote", url, "--token", admin, "volume", "list")).contains("cannot reach the daemon");
      assertThat(fails("--remote", "http://127.0.0.1:" + daemon.api().tcpPort(), "--token", admin, "--ca-cert",
          cert.toString(), "volume", "list")).contains("--ca-cert needs an https:// remote");
    }
  }
}
