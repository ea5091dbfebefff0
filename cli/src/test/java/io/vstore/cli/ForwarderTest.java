package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.cli.client.DaemonClient;
import io.vstore.server.TestDaemon;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/** The start-up path of short commands sent to a local daemon, and what it leaves to the full client. */
final class ForwarderTest {
  @TempDir Path tmp;

  @Test
  void takesExactlyTheForwardedCommandsThatRunAtOnceWithoutProgress() {
    TreeSet<String> expected = new TreeSet<>();
    for (CommandLine c : CommandLines.all(Vstore.commandLine())) {
      CommandSpec spec = c.getCommandSpec();
      String path = CommandPlans.path(spec);
      boolean progress = spec.mixins().values().stream().anyMatch(m -> m.userObject() instanceof ProgressOptions);
      if (c.getSubcommands().isEmpty() && CommandPlans.forwardable(spec) && CommandPlans.jobKind(path) == null
          && !progress) {
        expected.add(path);
      }
    }
    assertThat(new TreeSet<>(Forwarder.COMMANDS)).isEqualTo(expected);
  }

  @Test
  void sendsTheDatastoreFirstAndAbsoluteAndKeepsTheRestInOrder() {
    Path ds = Path.of("rel/ds");
    String abs = ds.toAbsolutePath().normalize().toString();
    assertThat(Forwarder.request(new String[] {"volume", "list", "-D", "rel/ds", "--json"}))
        .isEqualTo(new Forwarder.Request(Path.of(abs), List.of("-D", abs, "volume", "list", "--json")));
    assertThat(Forwarder.request(new String[] {"--debug", "--datastore=rel/./ds", "volume", "info", "vm1"}).argv())
        .containsExactly("-D", abs, "--debug", "volume", "info", "vm1");
    assertThat(Forwarder.request(new String[] {"-D", "/x", "volume", "-D", "rel/ds", "create", "v", "1G"}).argv())
        .as("the last -D wins, as in picocli").containsExactly("-D", abs, "volume", "create", "v", "1G");
    assertThat(Forwarder.request(new String[] {"vm", "snapshot", "delete", "-D", "/d", "vm1@s"}).datastore())
        .isEqualTo(Path.of("/d"));
  }

  @Test
  void takesInstantRestoreAndJobsThatDrawNoBar() {
    String abs = Path.of("/d").toString();
    assertThat(Forwarder.request(new String[] {"restore", "p1", "--repo", "r", "--instant", "--to-volume", "v", "-D",
        "/d"}).argv()).containsExactly("-D", abs, "restore", "p1", "--repo", "r", "--instant", "--to-volume", "v");
    assertThat(Forwarder.request(new String[] {"restore", "p1", "--repo", "r", "--to-volume", "v", "--progress", "-D",
        "/d"})).as("a plain restore with a bar to draw").isNull();
    assertThat(Forwarder.request(new String[] {"restore", "p1", "--repo", "r", "--to-file", "f", "-O", "raw",
        "--no-progress", "-D", "/d"}).argv())
        .as("a plain restore that draws nothing: the client only waits for the job")
        .containsExactly("-D", abs, "restore", "p1", "--repo", "r", "--to-file", "f", "-O", "raw", "--no-progress");
    assertThat(Forwarder.takes("restore", List.of("p1", "--to-volume", "v"), true)).as("a terminal: a bar").isFalse();
    assertThat(Forwarder.takes("restore", List.of("p1", "--to-volume", "v", "--instant"), true)).isTrue();
    assertThat(Forwarder.request(new String[] {"restore", "--instant", "--help"})).isNull();
    assertThat(Forwarder.request(new String[] {"backup", "create", "v", "--repo", "r", "--no-progress", "-D", "/d"})
        .argv()).containsExactly("-D", abs, "backup", "create", "v", "--repo", "r", "--no-progress");
    assertThat(Forwarder.request(new String[] {"backup", "create", "v", "--repo", "r", "--progress", "-D", "/d"}))
        .as("a bar to draw").isNull();
    assertThat(Forwarder.takes("backup create", List.of("v", "--repo", "r"), true)).as("a terminal: a bar").isFalse();
    assertThat(Forwarder.takes("backup create", List.of("v", "--repo", "r"), false)).isTrue();
    assertThat(Forwarder.takes("backup create", List.of("v", "-p"), false)).isFalse();
    assertThat(Forwarder.request(new String[] {"backup", "list", "--repo", "r"})).as("runs locally").isNull();
    assertThat(Forwarder.WITH_OPTION.keySet()).as("commands that are jobs unless given the option")
        .allSatisfy(c -> assertThat(CommandPlans.jobKind(c)).isNotNull());
  }

  @Test
  void leavesEverythingItIsNotSureOfToTheFullClient() {
    for (String line : List.of(
        "volume list --help", "volume list -h", "-h volume list", "--version", "volume delete -rh vm1",
        "volume import -D /d f vm", // a job
        "image info f", "serve -D /d", "help volume list", "token list -D /d", // local or daemon API commands
        "volume", "volume lst -D /d", "nothing", "",
        "volume list --remote http://127.0.0.1:1", "volume list --token=t", "volume list --no-wait",
        "volume --json list -D /d", // an option before the command is known
        "volume list -D", "volume list -D/d", "volume list -D=/d", "volume list -- -D", "volume list @args")) {
      String[] args = line.isEmpty() ? new String[0] : line.split(" ");
      assertThat(Forwarder.request(args)).as(line).isNull();
    }
  }

  @Test
  void quotesAndParsesJson() {
    String nasty = "a\"b\\c\nd\te\u0001f é \u2603";
    assertThat(JsonText.parse(JsonText.quote(nasty))).isEqualTo(nasty);
    assertThat(JsonText.parse("{\"out\":\"x\\u00e9\\/\",\"n\":[1,-2.5e1,true,false,null,{}],\"e\":{} }"))
        .isEqualTo(Map.of("out", "xé/", "n", java.util.Arrays.asList(1L, -25.0, true, false, null, Map.of()),
            "e", Map.of()));
    for (String bad : List.of("{", "{\"a\" 1}", "[1,]", "\"open", "tru", "{\"a\":1}x", "\"\\q\"", "-")) {
      assertThatThrownBy(() -> JsonText.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("bad JSON: expected");
    }
  }

  @Test
  void relaysAChunkedAnswerWhoseChunksSplitLines() throws IOException {
    String ndjson = "{\"out\":\"NAME\\n\"}\n{\"progress\":{\"done\":1,\"total\":2}}\n{\"err\":\"warn\\n\"}\n"
        + "{\"out\":\"vm1\\n\"}\n{\"exit\":3}\n";
    StringBuilder http = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < ndjson.length(); i += 7) {
      String piece = ndjson.substring(i, Math.min(ndjson.length(), i + 7));
      http.append(Integer.toHexString(piece.length())).append(i == 0 ? ";ext=1" : "").append("\r\n").append(piece)
          .append("\r\n");
    }
    http.append("0\r\n\r\n");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    InputStream body = Forwarder.answer(stream(http.toString()));
    assertThat(Forwarder.relay(body, Path.of("/d/vstore.sock"), new PrintWriter(out), new PrintWriter(err)))
        .isEqualTo(3);
    assertThat(out.toString()).isEqualTo("NAME\nvm1\n");
    assertThat(err.toString()).isEqualTo("warn\n");
  }

  @Test
  void reportsAnAnswerThatEndsBeforeItsExitLine() throws IOException {
    String text = "{\"out\":\"partial\"}\n";
    InputStream body = Forwarder.answer(stream("HTTP/1.1 200 OK\r\nContent-Length: " + text.length() + "\r\n\r\n"
        + text + "not read"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertThat(Forwarder.relay(body, Path.of("/d/vstore.sock"), new PrintWriter(out), new PrintWriter(err)))
        .isEqualTo(1);
    assertThat(out.toString()).isEqualTo("partial");
    assertThat(err.toString())
        .isEqualTo("vstore: the daemon at /d/vstore.sock ended the command's stream before its exit status"
            + System.lineSeparator());
  }

  @Test
  void givesBackEveryAnswerButOk() throws IOException {
    assertThat(Forwarder.answer(stream("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}"))).isNull();
    assertThatThrownBy(() -> Forwarder.answer(stream("SSH-2.0\r\n\r\n"))).isInstanceOf(IOException.class)
        .hasMessage("bad HTTP answer: status line 'SSH-2.0'");
    InputStream cut = Forwarder.answer(stream("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort"));
    assertThatThrownBy(cut::readAllBytes).isInstanceOf(IOException.class)
        .hasMessage("the daemon closed the connection inside a chunk");
  }

  @Test
  void runsAShortCommandInTheDaemonAndGivesAParseErrorBackToTheLocalParser() throws Exception {
    Path ds = tmp.resolve("ds");
    Datastore.create(ds, DatastoreOptions.defaults(), 1L << 30).close();
    try (TestDaemon d = TestDaemon.start(new CliCommandRunner(), ds)) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      OptionalInt exit = Forwarder.forward(new String[] {"volume", "create", "-D", ds.toString(), "vm1", "1M"},
          new PrintWriter(out, true), new PrintWriter(err, true));
      assertThat(exit).as(err.toString()).hasValue(0);
      assertThat(out.toString()).isEqualTo("created volume vm1 (1.0 MiB)" + System.lineSeparator());
      assertThat(Forwarder.noDaemon(new String[] {"volume", "list", "-D", ds.toString()})).isFalse();
      assertThat(Forwarder.forward(new String[] {"volume", "info", "-D", ds.toString(), "nothere"},
          new PrintWriter(out, true), new PrintWriter(err, true))).hasValue(1);
      assertThat(err.toString()).contains("nothere");

      // The daemon refuses a command line it cannot parse before running anything: the local
      // parser then reports it as a usage error, as without a daemon.
      assertThat(Forwarder.forward(new String[] {"volume", "create", "-D", ds.toString(), "vm2", "-1G"},
          new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))).isEmpty();
      CliRun usage = CliRun.of("volume", "create", "-D", ds.toString(), "vm2", "-1G");
      assertThat(usage.exit()).isEqualTo(CommandLines.USAGE);
      assertThat(usage.err()).startsWith("vstore volume create: '-1G' is negative");
    }
    // No daemon any more (its socket file may stay behind): the command runs here.
    assertThat(Forwarder.forward(new String[] {"volume", "list", "-D", ds.toString()},
        new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))).isEmpty();
    assertThat(CliRun.of("volume", "list", "-D", ds.toString()).out()).contains("vm1");
  }

  @Test
  void knowsWhenNoDaemonCanOwnTheDatastore() throws Exception {
    Path ds = tmp.resolve("alone");
    Datastore.create(ds, DatastoreOptions.defaults(), 1L << 30).close();
    assertThat(Forwarder.noDaemon(new String[] {"volume", "list", "-D", ds.toString()})).isTrue();
    assertThat(Forwarder.noDaemon(new String[] {"-D", ds.toString(), "snapshot", "create", "v@s"})).isTrue();
    // Not this path's command lines: ClientDispatch decides (another daemon, a job, help).
    for (String[] args : new String[][] {{"volume", "list", "-D", ds.toString(), "--remote", "http://h:1"},
        {"volume", "import", "-D", ds.toString(), "f", "v"}, {"volume", "list", "-D", ds.toString(), "--help"},
        {"volume", "list", "-D", ds.toString(), "--no-wait"}}) {
      assertThat(Forwarder.noDaemon(args)).as(String.join(" ", args)).isFalse();
    }
    Files.createFile(ds.resolve(DaemonClient.SOCKET));
    assertThat(Forwarder.noDaemon(new String[] {"volume", "list", "-D", ds.toString()})).isFalse();
  }

  private static InputStream stream(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  }
}
