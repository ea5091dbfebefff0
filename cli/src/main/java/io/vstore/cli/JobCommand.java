package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.cli.client.DaemonClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore job ...}: the long operations a {@code vstore serve} daemon runs. */
@Command(name = "job", description = "List, show, wait for and cancel the jobs of the daemon that owns the datastore.",
    mixinStandardHelpOptions = true,
    subcommands = {JobCommand.ListCmd.class, JobCommand.Show.class, JobCommand.Wait.class, JobCommand.Cancel.class})
final class JobCommand {
  private JobCommand() {}

  /** Returns a client of the daemon that owns the chosen datastore, or fails saying none does. */
  static DaemonClient connect(DatastoreLocation location) throws IOException {
    Vstore globals = Vstore.globals(location.command);
    if (globals.remote != null || System.getenv("VSTORE_REMOTE") != null) {
      return ClientDispatch.connect(globals, "job"); // --remote: the daemon on another host
    }
    Path ds = location.path();
    return DaemonClient.local(ds).orElseThrow(() -> new IllegalStateException("no daemon owns datastore " + ds
        + ": jobs exist only under 'vstore serve'"));
  }

  /** Returns the job's progress for people: "5.0 MiB of 10 MiB (50%), 1.0 MiB/s, 5 s left", or "-". */
  static String progress(JsonNode job) {
    long done = job.path("done").asLong();
    long total = job.path("total").asLong();
    if (total <= 0) {
      return done > 0 ? Sizes.format(done) : "-";
    }
    StringBuilder sb = new StringBuilder(Sizes.format(done) + " of " + Sizes.format(total) + " ("
        + Math.min(100, 100 * done / total) + "%)");
    double rate = job.path("rate").asDouble();
    if (rate > 0) {
      sb.append(", ").append(Sizes.format((long) rate)).append("/s");
    }
    long eta = job.path("etaSeconds").asLong(-1);
    if (eta >= 0) {
      sb.append(", ").append(eta).append(" s left");
    }
    return sb.toString();
  }

  private static String text(JsonNode job, String field) {
    JsonNode v = job.get(field);
    return v == null || v.isNull() ? "-" : v.asText();
  }

  private static String path(String id) {
    return "/api/v1/jobs/" + URLEncoder.encode(id, StandardCharsets.UTF_8);
  }

  @Command(name = "list", description = "List jobs, newest first.")
  static final class ListCmd implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Option(names = "--state", paramLabel = "STATE",
        description = "Only jobs in this state: queued, running, succeeded, failed, cancelled, interrupted.")
    String state;
    @Option(names = "--kind", paramLabel = "KIND", description = "Only jobs of this kind (import, convert, check, ...).")
    String kind;
    @Option(names = "--limit", paramLabel = "N", description = "Show at most N jobs (default: ${DEFAULT-VALUE}).",
        defaultValue = "100")
    int limit;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      List<String> query = new ArrayList<>();
      query.add("limit=" + limit);
      if (state != null) {
        query.add("state=" + URLEncoder.encode(state, StandardCharsets.UTF_8));
      }
      if (kind != null) {
        query.add("kind=" + URLEncoder.encode(kind, StandardCharsets.UTF_8));
      }
      try (DaemonClient client = connect(location)) {
        output.print(client.call("GET", "/api/v1/jobs?" + String.join("&", query), null), ListCmd::print);
      }
      return 0;
    }

    /** Prints {@code jobs} as a table. */
    static void print(PrintWriter out, JsonNode jobs) {
      out.printf("%-16s  %-12s %-24s %-11s %-20s  %s%n", "ID", "KIND", "TARGET", "STATE", "CREATED", "PROGRESS");
      for (JsonNode j : jobs) {
        out.printf("%-16s  %-12s %-24s %-11s %-20s  %s%n", text(j, "id"), text(j, "kind"), text(j, "target"),
            text(j, "state"), text(j, "created").replaceFirst("\\.\\d+Z$", "Z"), progress(j));
      }
    }
  }

  @Command(name = "show", description = "Show a job: its state, progress, times, result or error.")
  static final class Show implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "ID", description = "The job's id (from 'job list' or --no-wait).") String id;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = connect(location)) {
        output.print(client.call("GET", path(id), null), Show::print);
      }
      return 0;
    }

    /** Prints one job, a field a line. */
    static void print(PrintWriter out, JsonNode j) {
      out.printf("id:        %s%n", text(j, "id"));
      out.printf("kind:      %s%n", text(j, "kind"));
      out.printf("target:    %s%n", text(j, "target"));
      out.printf("datastore: %s%n", text(j, "datastore"));
      out.printf("state:     %s%n", text(j, "state"));
      out.printf("progress:  %s%n", progress(j));
      out.printf("created:   %s%n", text(j, "created"));
      out.printf("started:   %s%n", text(j, "started"));
      out.printf("finished:  %s%n", text(j, "finished"));
      if (j.hasNonNull("error")) {
        out.printf("error:     %s%n", text(j, "error"));
      }
      JsonNode r = j.get("result");
      if (r != null && !r.isNull()) {
        if (r.has("exit") && r.has("out")) {
          out.printf("exit:      %s%n", r.get("exit").asText());
          printOutput(out, "output", r.path("out").asText());
          printOutput(out, "errors", r.path("err").asText());
        } else {
          out.printf("result:    %s%n", r.isValueNode() ? r.asText() : r.toString());
        }
      }
    }

    private static void printOutput(PrintWriter out, String label, String text) {
      if (!text.isEmpty()) {
        out.println(label + ":");
        text.lines().forEach(l -> out.println("  " + l));
      }
    }
  }

  @Command(name = "wait", description = "Wait for a job to end, with a progress bar on a terminal; exit 0 if it succeeded, 1 if not.")
  static final class Wait implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "ID", description = "The job's id (from 'job list' or --no-wait).") String id;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      var console = System.console();
      boolean terminal = console != null && console.isTerminal();
      // On a terminal, ask often to move the bar; elsewhere, hold each request long, but under the
      // HTTP client's 30-second idle timeout, which would otherwise end a silent long poll.
      String timeout = terminal ? "0.25" : "25";
      JsonNode job;
      Progress bar = null;
      try (DaemonClient client = connect(location)) {
        job = client.call("GET", path(id), null);
        while (!isFinal(job.path("state").asText())) {
          job = client.call("GET", path(id) + "/wait?timeout=" + timeout, null);
          long total = job.path("total").asLong();
          if (bar == null && total > 0) {
            bar = new Progress("job " + id + " " + job.path("kind").asText()
                + (job.hasNonNull("target") ? " " + job.get("target").asText() : ""), total,
                spec.commandLine().getErr(), terminal);
          }
          if (bar != null) {
            bar.accept(job.path("done").asLong());
          }
        }
      }
      boolean succeeded = job.path("state").asText().equals("succeeded");
      if (bar != null) {
        if (succeeded) {
          bar.close();
        } else if (terminal) {
          System.err.println(); // leave the bar where it stopped
        }
      }
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      if (output.json) {
        output.print(job, (o, j) -> { });
      } else {
        JsonNode r = job.get("result");
        if (r != null && r.has("exit") && r.has("out")) {
          // A forwarded command's job: show what it printed, as it would have.
          out.print(r.path("out").asText());
          out.flush();
          err.print(r.path("err").asText());
          err.flush();
        } else if (succeeded) {
          out.println("job " + id + " succeeded");
          out.flush();
        }
      }
      if (succeeded) {
        return 0;
      }
      err.println("vstore: job " + id + " " + job.path("state").asText()
          + (job.hasNonNull("error") ? ": " + job.get("error").asText() : ""));
      err.flush();
      return 1;
    }

    private static boolean isFinal(String state) {
      return !state.equals("queued") && !state.equals("running");
    }
  }

  @Command(name = "cancel", description = "Cancel a job: a queued one at once, a running one as soon as it checks.")
  static final class Cancel implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "ID", description = "The job's id (from 'job list' or --no-wait).") String id;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = connect(location)) {
        output.print(client.call("POST", path(id) + "/cancel", null), (out, j) -> out.println(
            j.path("state").asText().equals("cancelled") ? "cancelled job " + id
                : "asked job " + id + " to stop; it is " + j.path("state").asText() + " until it does ('vstore job wait "
                    + id + "')"));
      }
      return 0;
    }
  }
}
