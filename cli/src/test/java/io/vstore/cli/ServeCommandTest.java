package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vstore serve} as a real process, ownership of a datastore, and what the client does without a daemon. */
final class ServeCommandTest {
  @TempDir Path tmp;

  private static CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
    return r;
  }

  /** Starts {@code vstore ARGS} in a JVM of its own, with this test's class path. */
  private Process vstore(String... args) throws Exception {
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
        "--enable-native-access=ALL-UNNAMED", "-cp", classPath, Vstore.class.getName()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectError(tmp.resolve("serve.err").toFile()).start();
  }

  @Test
  void serveRunsUntilSigtermThenExitsZeroAndReleasesTheDatastore() throws Exception {
    Path ds = tmp.resolve("ds");
    Datastore.create(ds, DatastoreOptions.defaults(), 1L << 30).close();
    // Any free NBD port: the default one may be taken by whatever else runs on this machine.
    Process serve = vstore("serve", "-D", ds.toString(), "--nbd-listen", "127.0.0.1:0");
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
      List<String> lines = new ArrayList<>();
      for (String line = out.readLine(); line != null && !line.startsWith("stop with"); line = out.readLine()) {
        lines.add(line);
      }
      assertThat(lines).as(Files.readString(tmp.resolve("serve.err")))
          .contains("serving datastore ds (" + ds + ") on " + ds.resolve("vstore.sock"));
      assertThat(ds.resolve("vstore.sock")).exists();

      // The CLI talks to it over the socket ...
      assertThat(ok("token", "list", "-D", ds.toString()).out()).contains("admin");
      assertThat(ok("volume", "create", "-D", ds.toString(), "during", "1M").out()).startsWith("created volume during");
      assertThat(ok("-D", ds.toString(), "volume", "list").out()).contains("during");
      // ... and a second daemon is refused, naming the first.
      CliRun second = CliRun.of("serve", "-D", ds.toString(), "--nbd-listen", "127.0.0.1:0");
      assertThat(second.exit()).isEqualTo(1);
      assertThat(second.err()).isEqualTo("vstore: datastore " + ds + " is owned by vstore serve (pid " + serve.pid()
          + "; socket " + ds.resolve("vstore.sock") + ")\n");

      serve.destroy(); // SIGTERM
      assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(serve.exitValue()).as(Files.readString(tmp.resolve("serve.err"))).isZero();
      // Stopped cleanly, and nothing else on stderr (no logging back end warnings either).
      assertThat(Files.readString(tmp.resolve("serve.err"))).isEqualTo("vstore serve: stopped\n");
    } finally {
      serve.destroyForcibly();
    }
    assertThat(ds.resolve("vstore.sock")).doesNotExist();
    assertThat(ds.resolve(DatastoreOwner.FILE)).doesNotExist();
    // Released: commands run in their own process again.
    assertThat(ok("volume", "create", "-D", ds.toString(), "after", "1M").out()).startsWith("created volume after");
  }

  @Test
  void serveUnlocksAnEncryptedDatastoreAndForwardedCommandsNeedNoKey() throws Exception {
    Path ds = tmp.resolve("ds");
    Path pass = Files.writeString(tmp.resolve("pass"), "serve passphrase\n");
    ok("datastore", "init", "-D", ds.toString(), "--encrypt", "--passphrase-file", pass.toString());
    CliRun locked = CliRun.of("serve", "-D", ds.toString(), "--nbd-listen", "127.0.0.1:0");
    assertThat(locked.exit()).isEqualTo(1);
    assertThat(locked.err()).contains("datastore " + ds + " is encrypted: give --passphrase-file FILE");
    Process serve = vstore("serve", "-D", ds.toString(), "--nbd-listen", "127.0.0.1:0", "--passphrase-file",
        pass.toString());
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
      for (String line = out.readLine(); line != null && !line.startsWith("stop with"); line = out.readLine()) {
        // serving ... lines
      }
      assertThat(ok("volume", "create", "-D", ds.toString(), "v", "1M").out()).startsWith("created volume v");
      assertThat(ok("datastore", "check", "-D", ds.toString()).out()).contains("no problems found");
      serve.destroy();
      assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(serve.exitValue()).as(Files.readString(tmp.resolve("serve.err"))).isZero();
    } finally {
      serve.destroyForcibly();
    }
    assertThat(ok("volume", "list", "-D", ds.toString(), "--passphrase-file", pass.toString()).out()).contains("v");
  }

  @Test
  void aHeldDatastoreWhoseDaemonDoesNotAnswerIsRefusedNamingTheOwner() throws Exception {
    Path ds = tmp.resolve("ds");
    try (Datastore held = Datastore.create(ds, DatastoreOptions.defaults(), 1L << 30)) {
      DatastoreOwner.record(ds, "vstore serve", ds.resolve("vstore.sock"));
      CliRun r = CliRun.of("volume", "list", "-D", ds.toString());
      assertThat(r.exit()).isEqualTo(1);
      assertThat(r.err()).isEqualTo("vstore: datastore " + ds + " is owned by vstore serve (pid "
          + ProcessHandle.current().pid() + "; socket " + ds.resolve("vstore.sock") + ")\n");
    }
  }

  @Test
  void aCrashedDaemonsSocketAndRecordDoNotGetInTheWay() throws Exception {
    Path ds = tmp.resolve("ds");
    Datastore.create(ds, DatastoreOptions.defaults(), 1L << 30).close();
    // A socket file no one listens on any more, as a daemon killed with -9 leaves it.
    try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      dead.bind(UnixDomainSocketAddress.of(ds.resolve("vstore.sock")));
    }
    assertThat(ds.resolve("vstore.sock")).exists();
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    Files.writeString(ds.resolve(DatastoreOwner.FILE), "{\"pid\": " + gone.pid() + ", \"role\": \"vstore serve\"}");
    assertThat(ok("volume", "create", "-D", ds.toString(), "v", "1M").out()).startsWith("created volume v");
    assertThat(ok("volume", "list", "-D", ds.toString()).out()).contains("v ");
  }

  @Test
  void globalOptionsGoBeforeOrAfterTheCommand() throws Exception {
    Path ds = tmp.resolve("ds");
    String d = ds.toString();
    ok("datastore", "init", "-D", d);
    ok("-D", d, "volume", "create", "a", "1M");
    ok("volume", "-D", d, "create", "b", "1M");
    ok("--debug", "volume", "create", "c", "1M", "-D", d);
    String list = ok("volume", "list", "-D", d).out();
    assertThat(list).contains("a ").contains("b ").contains("c ");
    assertThat(ok("-D", d, "--debug", "volume", "list").out()).isEqualTo(list);
    String help = ok("--help").out();
    assertThat(help).contains("-D, --datastore").contains("VSTORE_DATASTORE").contains("VSTORE_REMOTE")
        .contains("VSTORE_TOKEN").contains("serve").contains("token");
  }

  @Test
  void serveOptionsAreChecked() throws Exception {
    Path ds = tmp.resolve("ds");
    Datastore.create(ds, DatastoreOptions.defaults(), 1L << 30).close();
    CliRun bad = CliRun.of("serve", "-D", ds.toString(), "--listen", "nope");
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.err()).isEqualTo("vstore: --listen nope: expected HOST:PORT\n");
    CliRun open = CliRun.of("serve", "-D", ds.toString(), "--listen", "0.0.0.0:0", "--nbd-listen", "127.0.0.1:0");
    assertThat(open.exit()).isEqualTo(1);
    assertThat(open.err()).contains("not a loopback address").contains("--tls-cert");
    CliRun keyOnly = CliRun.of("serve", "-D", ds.toString(), "--listen", "127.0.0.1:0", "--tls-cert", "c.pem",
        "--nbd-listen", "127.0.0.1:0");
    assertThat(keyOnly.err()).isEqualTo("vstore: give both --tls-cert and --tls-key, or neither\n");
    // None of them left the datastore locked.
    ok("volume", "list", "-D", ds.toString());
  }
}
