package io.vstore.cli;

import io.vstore.server.CommandRunner;
import java.io.PrintWriter;
import java.io.Writer;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * Runs forwarded {@code vstore} command lines inside the daemon: the same commands, output, JSON
 * and exit codes as in a process of their own, but on the datastores the daemon holds open, with
 * the client's working directory and with progress going to the job.
 */
public final class CliCommandRunner implements CommandRunner {
  /** How many idle command trees are kept for reuse. */
  private static final int MAX_IDLE = 8;
  /**
   * Command trees ready for reuse: building one costs tens of milliseconds, parsing with one a
   * fraction of a millisecond, and picocli resets every option and parameter before each parse.
   * One tree serves one command at a time.
   */
  private final ConcurrentLinkedQueue<CommandLine> idle = new ConcurrentLinkedQueue<>();

  /** Creates the runner {@code vstore serve} gives its daemon. */
  public CliCommandRunner() {}

  /**
   * Builds the first command tree on a background thread: in a fresh daemon that build (picocli
   * reflecting over every command class) is the largest part of the first forwarded command, and
   * a {@code restore --instant} must have its export up within 2 s of being typed. A command that
   * arrives before the tree is ready builds its own, as without this.
   */
  public CliCommandRunner prepare() {
    Thread.ofVirtual().name("command-tree").start(() -> {
      try {
        giveBack(Vstore.commandLine());
      } catch (RuntimeException | LinkageError e) {
        // the first command builds its tree and reports whatever fails then
      }
    });
    return this;
  }

  private CommandLine take() {
    CommandLine cl = idle.poll();
    return cl != null ? cl : Vstore.commandLine();
  }

  private void giveBack(CommandLine cl) {
    // Drop the last command's writers, so an idle tree holds no connection's buffers.
    PrintWriter none = new PrintWriter(Writer.nullWriter());
    cl.setOut(none);
    cl.setErr(none);
    if (idle.size() < MAX_IDLE) {
      idle.offer(cl);
    }
  }

  @Override
  public Plan plan(List<String> argv) {
    CommandLine cl = take();
    try {
      ParseResult parsed = parse(cl, argv);
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
    } finally {
      giveBack(cl);
    }
  }

  /** Parses {@code argv} with {@code cl}; a parse error becomes a one-line IllegalArgumentException. */
  private static ParseResult parse(CommandLine cl, List<String> argv) {
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
    CommandLine cl = take();
    try {
      return ScopedValue.where(DaemonContext.CURRENT, context).where(Progress.SINK, invocation.progress())
          .call(() -> Vstore.runHere(cl, args, invocation.out(), invocation.err()));
    } finally {
      giveBack(cl);
    }
  }
}
