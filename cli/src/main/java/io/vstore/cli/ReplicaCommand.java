package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.cli.client.DaemonClient;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vstore replica}: synchronous replication pairs of a running {@code vstore serve}. */
@Command(name = "replica", mixinStandardHelpOptions = true,
    description = {"Keep a synchronous second copy of a volume (every write acknowledged once both copies have it),",
        "on another datastore of the daemon or on any NBD server; fail over with 'promote'."},
    subcommands = {ReplicaCommand.Create.class, ReplicaCommand.ListReplicas.class, ReplicaCommand.Info.class,
        ReplicaCommand.Pause.class, ReplicaCommand.Resume.class, ReplicaCommand.Promote.class,
        ReplicaCommand.Remove.class})
public final class ReplicaCommand {
  private static final String PATH = "/api/v1/replicas";

  private ReplicaCommand() {}

  private static String idPath(String id, String action) {
    return PATH + "/" + URLEncoder.encode(id, StandardCharsets.UTF_8) + (action == null ? "" : "/" + action);
  }

  /** {@code vstore replica create}. */
  @Command(name = "create", mixinStandardHelpOptions = true,
      description = {"Replicate VOLUME to DATASTORE (a directory the daemon owns; the volume is created there) or to",
          "nbd://HOST:PORT/EXPORT (nbds:// for TLS). Only allocated data is copied. When the target volume is the",
          "fenced old primary of a promoted pair, only what changed since the two diverged is sent.",
          "A VM replicates every disk to DATASTORE, one pair per disk (ID-0, ID-1, ... with --id), all or none."})
  static final class Create implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin OutputOptions output;

    @Parameters(index = "0", paramLabel = "VOLUME|VM",
        description = "The volume to replicate, or a VM (every disk; a name that is a VM and no volume is the VM).")
    String volume;

    @Option(names = "--vm", description = "The name is a VM's (needed only when a volume has the same name).")
    boolean vm;

    @Option(names = "--to", required = true, paramLabel = "DATASTORE|nbd://HOST:PORT/EXPORT", description = "The secondary.")
    String to;

    @Option(names = "--id", paramLabel = "ID", description = "The pair's id (default: generated).")
    String id;

    @Option(names = "--datastore-name", paramLabel = "NAME", description = "The daemon's datastore holding VOLUME.")
    String datastoreName;

    @Override
    public Integer call() throws Exception {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put(vm ? "vm" : "volume", volume);
      String target = to;
      if (!to.startsWith("nbd://") && !to.startsWith("nbds://") && Files.isDirectory(DaemonContext.path(to))) {
        target = DaemonContext.path(to).toAbsolutePath().normalize().toString(); // the daemon's cwd is not ours
      }
      body.put("to", target);
      if (id != null) {
        body.put("id", id);
      }
      // Without a name, the datastore given with -D holds the volume (not the daemon's first).
      body.put("datastore", datastoreName != null ? datastoreName : location.path().toAbsolutePath().normalize().toString());
      try (DaemonClient client = ExportCommand.connect(location, "replica create")) {
        JsonNode r = client.call("POST", PATH, body);
        output.print(r, (out, made) -> {
          for (JsonNode s : made.isArray() ? made : List.of(made)) { // a VM: one pair per disk
            out.printf("replica %s: %s -> %s (%s)%n", s.get("id").asText(), s.get("volume").asText(),
                s.get("peer").asText(), s.get("state").asText());
          }
        });
      }
      return 0;
    }
  }

  /** {@code vstore replica list}. */
  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the pairs with state, lag and bytes behind.")
  static final class ListReplicas implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = ExportCommand.connect(location, "replica list")) {
        output.print(client.call("GET", PATH, null), ReplicaCommand::printTable);
      }
      return 0;
    }
  }

  /** Prints sides of pairs as a table. */
  static void printTable(PrintWriter out, JsonNode sides) {
    if (sides.isEmpty()) {
      out.println("no replicas");
      return;
    }
    String row = "%-12s  %-9s  %-12s  %-16s  %5s  %10s  %8s  %s%n";
    out.printf(row, "ID", "ROLE", "STATE", "VOLUME", "EPOCH", "BEHIND", "LAG", "PEER");
    for (JsonNode s : sides) {
      out.printf(row, s.get("id").asText(), s.get("role").asText(), s.get("state").asText(), s.get("volume").asText(),
          s.get("epoch").asLong(), Sizes.format(s.get("bytesBehind").asLong()),
          String.format("%.1fs", s.get("lagSeconds").asDouble()), s.get("peer").asText());
    }
  }

  /** {@code vstore replica info}. */
  @Command(name = "info", mixinStandardHelpOptions = true, description = "Show both sides of a pair held by the daemon.")
  static final class Info implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin OutputOptions output;

    @Parameters(index = "0", paramLabel = "ID", description = "The pair's id (see 'vstore replica list').")
    String id;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = ExportCommand.connect(location, "replica info")) {
        output.print(client.call("GET", idPath(id, null), null), (out, sides) -> {
          for (JsonNode s : sides) {
            out.printf("replica %s (%s)%n", s.get("id").asText(), s.get("role").asText());
            out.printf("  volume:        %s in %s%n", s.get("volume").asText(), s.get("datastore").asText());
            out.printf("  peer:          %s%n", s.get("peer").asText());
            out.printf("  state:         %s (epoch %d)%n", s.get("state").asText(), s.get("epoch").asLong());
            out.printf("  bytes behind:  %s, lag %.1f s%n", Sizes.format(s.get("bytesBehind").asLong()),
                s.get("lagSeconds").asDouble());
            out.printf("  sent:          %s by syncs, %s mirrored%n", Sizes.format(s.get("bytesSent").asLong()),
                Sizes.format(s.get("bytesMirrored").asLong()));
            if (s.hasNonNull("lastError")) {
              out.printf("  last error:    %s%n", s.get("lastError").asText());
            }
          }
        });
      }
      return 0;
    }
  }

  /** The commands that act on one pair and print the side they return. */
  abstract static class Action implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin OutputOptions output;

    @Parameters(index = "0", paramLabel = "ID", description = "The pair's id (see 'vstore replica list').")
    String id;

    abstract String action();

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = ExportCommand.connect(location, "replica " + action())) {
        JsonNode r = action().equals("remove") ? client.call("DELETE", idPath(id, null), null)
            : client.call("POST", idPath(id, action()), null);
        output.print(r, (out, s) -> out.printf("replica %s: %s%n", id, s.isArray() ? "removed" : s.get("state").asText()));
      }
      return 0;
    }
  }

  /** {@code vstore replica pause}. */
  @Command(name = "pause", mixinStandardHelpOptions = true,
      description = "Stop mirroring; the change log keeps what the secondary lacks.")
  static final class Pause extends Action {
    @Override
    String action() {
      return "pause";
    }
  }

  /** {@code vstore replica resume}. */
  @Command(name = "resume", mixinStandardHelpOptions = true, description = "Reconnect and send only what the secondary lacks.")
  static final class Resume extends Action {
    @Override
    String action() {
      return "resume";
    }
  }

  /** {@code vstore replica promote}. */
  @Command(name = "promote", mixinStandardHelpOptions = true,
      description = {"On the secondary's daemon: make the volume writable and raise the epoch, so that the old",
          "primary's next write is refused (no split-brain)."})
  static final class Promote extends Action {
    @Override
    String action() {
      return "promote";
    }
  }

  /** {@code vstore replica remove}. */
  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = "Remove a pair: its records, pins and write guards; both volumes stay.")
  static final class Remove extends Action {
    @Override
    String action() {
      return "remove";
    }
  }
}
