package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.cli.client.DaemonClient;
import io.vstore.cli.client.DaemonException;
import io.vstore.server.CommandRunner;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * The client side of the daemon: sends a command on a datastore to the daemon that owns it (over
 * its Unix socket, or {@code --remote} over TCP) as {@code POST /api/v1/commands}, and renders the
 * NDJSON answer as if the command had run here: output to stdout, errors to stderr, progress as a
 * bar on a terminal, and the same exit code.
 */
final class ClientDispatch {
  /** The API path of command forwarding. */
  static final String COMMANDS = "/api/v1/commands";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Options only the client understands, each with whether it takes a value. */
  private static final Map<String, Boolean> CLIENT_OPTIONS = Map.of("--remote", true, "--token", true,
      "--ca-cert", true, "--no-wait", false);

  private ClientDispatch() {}

  /**
   * Runs {@code args} through a daemon when one owns the datastore (or {@code --remote} names one)
   * and returns the exit code; empty when the command is to run in this process. {@code cl} is the
   * command tree, used here to parse only.
   */
  static OptionalInt dispatch(CommandLine cl, String[] args, PrintWriter out, PrintWriter err) {
    ParseResult parsed;
    try {
      parsed = cl.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      return OptionalInt.empty(); // the local run reports it, exactly as without a daemon
    }
    if (!CommandPlans.forwardable(parsed)) {
      return OptionalInt.empty();
    }
    Vstore globals = cl.getCommand();
    String remote = globals.remote != null ? globals.remote : env("VSTORE_REMOTE");
    String token = globals.token != null ? globals.token : env("VSTORE_TOKEN");
    try {
      CommandRunner.Plan plan = CommandPlans.plan(parsed);
      if (globals.noWait && plan.jobKind() == null) {
        throw new IllegalArgumentException("--no-wait applies only to commands that run as jobs"
            + " (volume import/export/read/write/flatten, datastore clean/check, pool create/recompose/refresh),"
            + " not 'vstore "
            + CommandPlans.path(CommandPlans.leaf(parsed).commandSpec()) + "'");
      }
      List<String> argv = withoutOptions(args, CLIENT_OPTIONS);
      DaemonClient client;
      if (remote != null) {
        client = DaemonClient.remote(URI.create(remote), token, globals.caCert);
      } else {
        Path datastore = DatastoreLocation.choose(globals.datastore()).toAbsolutePath().normalize();
        Optional<DaemonClient> local = DaemonClient.local(datastore);
        if (local.isEmpty()) {
          if (globals.noWait) {
            throw new IllegalArgumentException("--no-wait needs a daemon: no 'vstore serve' answers on "
                + datastore.resolve(DaemonClient.SOCKET));
          }
          return OptionalInt.empty();
        }
        client = local.get();
        // The daemon may run elsewhere in the file system tree: name the datastore absolutely.
        argv = new ArrayList<>(withoutOptions(argv.toArray(String[]::new),
            Map.of("-D", true, "--datastore", true)));
        argv.addAll(0, List.of("-D", datastore.toString()));
      }
      try (client) {
        return OptionalInt.of(send(client, argv, plan, globals.noWait, showProgress(parsed), out, err));
      }
    } catch (DaemonException e) {
      err.println("vstore: " + e.getMessage());
      err.flush();
      return OptionalInt.of(1);
    } catch (IOException | RuntimeException e) {
      err.println("vstore: " + Vstore.describe(e));
      err.flush();
      return OptionalInt.of(1);
    }
  }

  private static int send(DaemonClient client, List<String> argv, CommandRunner.Plan plan, boolean noWait,
      boolean showProgress, PrintWriter out, PrintWriter err) throws IOException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("argv", argv);
    body.put("cwd", Path.of("").toAbsolutePath().toString());
    body.put("wait", !noWait);
    if (noWait) {
      JsonNode job = client.call("POST", COMMANDS, body);
      out.println(job.path("id").asText());
      out.flush();
      return 0;
    }
    String jobId = null;
    Integer exit = null;
    Progress progress = null;
    // Read to the end, past the exit line: the daemon ends the stream right after it, and closing
    // earlier would cut its last bytes off (a broken pipe in its log).
    try (InputStream in = client.stream("POST", COMMANDS, body);
        BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode msg = JSON.readTree(line);
        if (msg.has("out")) {
          out.print(msg.get("out").asText());
          out.flush();
        } else if (msg.has("err")) {
          err.print(msg.get("err").asText());
          err.flush();
        } else if (msg.has("progress")) {
          JsonNode p = msg.get("progress");
          if (progress == null) {
            String label = plan.jobKind() != null ? plan.jobKind() : "";
            if (plan.target() != null) {
              label = label.isEmpty() ? plan.target() : label + " " + plan.target();
            }
            progress = new Progress(label, p.path("total").asLong(), err, showProgress);
          }
          progress.accept(p.path("done").asLong());
        } else if (msg.has("job")) {
          jobId = msg.get("job").path("id").asText(null);
        } else if (msg.has("exit")) {
          exit = msg.get("exit").asInt();
        }
      }
    } finally {
      if (progress != null) {
        progress.close();
      }
    }
    if (exit != null) {
      return exit;
    }
    err.println("vstore: the daemon at " + client.where() + " ended the command's stream before its exit status"
        + (jobId == null ? "" : "; job " + jobId + " goes on: see 'vstore job show " + jobId + "'"));
    err.flush();
    return 1;
  }

  /** Returns whether to draw the progress of the command here: as its --progress/--no-progress say, else on a terminal. */
  private static boolean showProgress(ParseResult parsed) {
    return CommandPlans.leaf(parsed).commandSpec().mixins().values().stream()
        .map(m -> m.userObject() instanceof ProgressOptions o ? o.progress : null)
        .filter(java.util.Objects::nonNull).findFirst().orElseGet(Terminal::isInteractive);
  }

  /** Returns {@code args} without the options in {@code drop} (name to whether it takes a value), up to {@code --}. */
  static List<String> withoutOptions(String[] args, Map<String, Boolean> drop) {
    List<String> kept = new ArrayList<>();
    boolean options = true;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (options && a.equals("--")) {
        options = false;
      }
      if (options && drop.containsKey(a)) {
        if (drop.get(a)) {
          i++;
        }
        continue;
      }
      if (options && a.indexOf('=') > 0 && drop.containsKey(a.substring(0, a.indexOf('=')))) {
        continue;
      }
      if (options && drop.containsKey("-D") && a.startsWith("-D") && a.length() > 2 && !a.startsWith("-D=")) {
        continue; // -DPATH, picocli's attached form
      }
      kept.add(a);
    }
    return kept;
  }

  /**
   * Returns a client of the daemon the global options name ({@code --remote}, else the one that owns
   * the datastore), for {@code command}, which works only through a daemon.
   */
  static DaemonClient connect(Vstore globals, String command) throws IOException {
    String remote = globals.remote != null ? globals.remote : env("VSTORE_REMOTE");
    if (remote != null) {
      return DaemonClient.remote(URI.create(remote), globals.token != null ? globals.token : env("VSTORE_TOKEN"),
          globals.caCert);
    }
    Path datastore = DatastoreLocation.choose(globals.datastore()).toAbsolutePath().normalize();
    return DaemonClient.local(datastore).orElseThrow(() -> new IllegalStateException("'vstore " + command
        + "' goes through the daemon, and no 'vstore serve' answers on " + datastore.resolve(DaemonClient.SOCKET)));
  }

  private static String env(String name) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? null : v;
  }
}
