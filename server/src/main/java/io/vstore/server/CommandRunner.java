package io.vstore.server;

import io.vstore.server.auth.Scope;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs a {@code vstore} command line inside the daemon, on the datastores it owns, so that every
 * command gives the same output, JSON and exit code whether or not a daemon runs. The CLI module
 * implements it (the server sits below the CLI and cannot see its commands).
 */
public interface CommandRunner {
  /**
   * What running a command line takes: the token scope it needs, the job kind when it is long
   * work that runs as a job (null: it runs at once), and the object it works on.
   */
  record Plan(Scope scope, String jobKind, String target) {}

  /** One command line to run: its arguments, the client's working directory and where output goes. */
  record Invocation(List<String> argv, Path cwd, PrintWriter out, PrintWriter err, ProgressSink progress,
      DatastoreHost host) {}

  /** Parses {@code argv} and tells what it needs; throws IllegalArgumentException with a one-line message if it does not parse. */
  Plan plan(List<String> argv);

  /** Runs the command line and returns its exit code; output and errors go to the invocation's writers. */
  int run(Invocation invocation);
}
