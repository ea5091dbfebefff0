package io.vstore.cli;

import io.vstore.server.CommandRunner;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * Runs forwarded {@code vstore} command lines inside the daemon: the same commands, output, JSON
 * and exit codes as in a process of their own, but on the datastores the daemon holds open, with
 * the client's working directory and with progress going to the job.
 */
public final class CliCommandRunner implements CommandRunner {
  /** Creates the runner {@code vstore serve} gives its daemon. */
  public CliCommandRunner() {}

  @Override
  public Plan plan(List<String> argv) {
    ParseResult parsed = parse(argv);
    if (!CommandPlans.forwardable(parsed)) {
      String path = CommandPlans.path(CommandPlans.leaf(parsed).commandSpec());
      throw new IllegalArgumentException("'vstore " + (path.isEmpty() ? String.join(" ", argv) : path)
          + "' does not run in the daemon: run it without a daemon");
    }
    for (CommandLine.Model.PositionalParamSpec p : CommandPlans.leaf(parsed).matchedPositionals()) {
      if (p.paramLabel().equals("FILE") && p.stringValues().contains("-")) {
        // The bytes would be the daemon's own stdin or stdout; the command stream carries text.
        throw new IllegalArgumentException("'-' (stdin or stdout) cannot go through the daemon: give a FILE");
      }
    }
    return CommandPlans.plan(parsed);
  }

  /** Parses {@code argv} with a fresh command tree; a parse error becomes a one-line IllegalArgumentException. */
  static ParseResult parse(List<String> argv) {
    CommandLine cl = Vstore.commandLine();
    try {
      return cl.parseArgs(argv.toArray(String[]::new));
    } catch (CommandLine.ParameterException e) {
      throw new IllegalArgumentException(Vstore.describe(e), e);
    }
  }

  @Override
  public int run(Invocation invocation) {
    DaemonContext context = new DaemonContext(invocation.host(), invocation.cwd(), invocation.progress());
    String[] args = invocation.argv().toArray(String[]::new);
    return ScopedValue.where(DaemonContext.CURRENT, context).where(Progress.SINK, invocation.progress())
        .call(() -> Vstore.runHere(args, invocation.out(), invocation.err()));
  }
}
