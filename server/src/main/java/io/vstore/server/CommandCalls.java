package io.vstore.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.jobs.JobInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;

/**
 * Runs the command line a REST route stands for through the daemon's {@link CommandRunner}, as the
 * command forwarding runs it: at once for its {@code --json} output, or as a job. A route then
 * answers what the command prints and refuses what it refuses, with its one-line message. Relative
 * paths resolve against {@code /}.
 */
final class CommandCalls {
  private static final Path ROOT = Path.of("/");
  private final Daemon daemon;
  private final CommandRoutes commands;

  CommandCalls(Daemon daemon, CommandRoutes commands) {
    this.daemon = daemon;
    this.commands = commands;
  }

  private CommandRunner runner() {
    CommandRunner runner = daemon.runner();
    if (runner == null) {
      throw new ApiException(503, "this daemon runs no commands");
    }
    return runner;
  }

  /** Starts {@code argv}, a command planned as a job, with no client attached, and returns the job. */
  JobInfo startJob(List<String> argv) {
    CommandRunner runner = runner();
    CommandRunner.Plan plan;
    try {
      plan = runner.plan(argv);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
    if (plan.jobKind() == null) {
      throw new IllegalStateException("'" + String.join(" ", argv) + "' is planned as no job");
    }
    return commands.startJob(runner, plan, argv, ROOT);
  }

  /**
   * Runs {@code argv} at once and returns its {@code --json} output; a failure is a problem with the
   * command's last error line: 404 when {@code missing} says it names something missing, else 400.
   */
  JsonNode runJson(List<String> argv, Predicate<String> missing) throws IOException {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit;
    try (PrintWriter o = new PrintWriter(out); PrintWriter e = new PrintWriter(err)) {
      exit = runner().run(new CommandRunner.Invocation(List.copyOf(argv), ROOT, o, e, (done, total) -> { }, daemon));
    }
    if (exit != 0) {
      String line = err.toString().strip();
      int nl = line.lastIndexOf('\n');
      line = nl < 0 ? line : line.substring(nl + 1);
      line = line.startsWith("vstore: ") ? line.substring("vstore: ".length()) : line;
      if (line.isEmpty()) {
        line = "the command exited with " + exit;
      }
      throw missing.test(line) ? ApiException.notFound(line) : ApiException.badRequest(line);
    }
    try {
      return Exchange.JSON.readTree(out.toString());
    } catch (IOException e) {
      throw new IllegalStateException("'" + String.join(" ", argv) + "' printed no JSON: " + e.getMessage(), e);
    }
  }
}
