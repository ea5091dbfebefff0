package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.cli.client.DaemonClient;
import io.vstore.server.exports.ExportSource;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore export}: the NBD exports of a running {@code vstore serve}. */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = {"Manage the NBD exports a running 'vstore serve' offers; they persist across its restarts.",
        "(For a one-shot server without a daemon, use 'vstore nbd serve'.)"},
    subcommands = {ExportCommand.Add.class, ExportCommand.ListExports.class, ExportCommand.Remove.class})
public final class ExportCommand {
  private static final String PATH = "/api/v1/exports";

  private ExportCommand() {}

  /**
   * Returns a client of the daemon: {@code VSTORE_REMOTE} (with {@code VSTORE_TOKEN}) if set, else
   * the one owning the datastore; export management has no meaning without one.
   */
  static DaemonClient connect(DatastoreLocation location, String command) throws IOException {
    String remote = System.getenv("VSTORE_REMOTE");
    if (remote != null && !remote.isBlank()) {
      return DaemonClient.remote(URI.create(remote), System.getenv("VSTORE_TOKEN"));
    }
    Path dir = location.path().toAbsolutePath().normalize();
    return DaemonClient.local(dir).orElseThrow(() -> new IllegalStateException("'vstore export " + command
        + "' needs the daemon, and none answers on " + dir.resolve(DaemonClient.SOCKET) + ": start 'vstore serve' first"));
  }

  /** {@code vstore export add}: adds an export. */
  @Command(name = "add", mixinStandardHelpOptions = true,
      description = {"Export SPEC over the daemon's NBD server: a VOLUME, a snapshot VOLUME@SNAP (read-only),",
          "or an image FILE of any supported format (needs an admin token over TCP)."})
  static final class Add implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin OutputOptions output;

    @Parameters(index = "0", paramLabel = "SPEC", description = "VOLUME, VOLUME@SNAP or FILE")
    String source;

    @Option(names = "--name", paramLabel = "NAME", description = "Export name (default: the volume, snapshot or file name).")
    String name;

    @Option(names = "--read-only", description = "Refuse writes.")
    boolean readOnly;

    @Option(names = "--dirty-bitmap", paramLabel = "CHANGEID",
        description = "Offer qemu:dirty-bitmap:CHANGEID: what changed since CHANGEID (repeatable; volumes and snapshots).")
    List<String> dirtyBitmaps = new ArrayList<>();

    @Option(names = "--datastore-name", paramLabel = "NAME",
        description = "The daemon's datastore to take the volume from, when it owns several with that volume.")
    String datastoreName;

    @Override
    public Integer call() throws Exception {
      // Relative image paths mean this shell's directory, not the daemon's: send them absolute.
      String resolved = ExportSource.parse(source, Path.of("").toAbsolutePath()).spec();
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("spec", resolved);
      if (name != null) {
        body.put("name", name);
      }
      body.put("readOnly", readOnly);
      body.put("dirtyBitmaps", dirtyBitmaps);
      if (datastoreName != null) {
        body.put("datastore", datastoreName);
      }
      try (DaemonClient client = connect(location, "add")) {
        JsonNode added = client.call("POST", PATH, body);
        output.print(added, (out, e) -> out.printf("exporting %s (%s, %s) at %s%n", e.get("name").asText(),
            Sizes.format(e.get("size").asLong()), e.get("readOnly").asBoolean() ? "read-only" : "read-write",
            e.get("uri").asText()));
      }
      return 0;
    }
  }

  /** {@code vstore export list}: lists exports with their clients. */
  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List the daemon's NBD exports and the clients connected to each.")
  static final class ListExports implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = connect(location, "list")) {
        output.print(client.call("GET", PATH, null), ExportCommand::printList);
      }
      return 0;
    }
  }

  /** Prints exports as a table, each followed by its clients. */
  static void printList(PrintWriter out, JsonNode exports) {
    if (exports.isEmpty()) {
      out.println("no exports");
      return;
    }
    int width = "NAME".length();
    for (JsonNode e : exports) {
      width = Math.max(width, e.get("name").asText().length());
    }
    String row = "%-" + width + "s  %-8s  %10s  %-10s  %s%n";
    out.printf(row, "NAME", "KIND", "SIZE", "MODE", "URI");
    for (JsonNode e : exports) {
      out.printf(row, e.get("name").asText(), e.get("kind").asText(), Sizes.format(e.get("size").asLong()),
          e.get("readOnly").asBoolean() ? "read-only" : "read-write", e.get("uri").asText());
      for (JsonNode c : e.get("clients")) {
        out.printf("  client %s%s since %s, read %s, written %s%n", c.get("remote").asText(),
            c.get("tls").asBoolean() ? " (TLS)" : "", c.get("connectedSince").asText(),
            Sizes.format(c.get("bytesRead").asLong()), Sizes.format(c.get("bytesWritten").asLong()));
      }
    }
  }

  /** {@code vstore export remove}: removes an export. */
  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = "Remove an NBD export: refused while clients are connected, unless --force disconnects them.")
  static final class Remove implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;

    @Parameters(index = "0", paramLabel = "NAME", description = "The export name.")
    String name;

    @Option(names = "--force", description = "Disconnect connected clients (after their requests in flight).")
    boolean force;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = connect(location, "remove")) {
        client.call("DELETE", PATH + "/" + URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20")
            + (force ? "?force=true" : ""), null);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println("removed export " + name);
      out.flush();
      return 0;
    }
  }
}
