package io.vstore.cli;

import io.vstore.server.CommandRunner;
import io.vstore.server.auth.Scope;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;

/**
 * The one table of what each command needs in the daemon: its token scope, whether it is long work
 * that runs as a job (and of which kind), and whether it goes to the daemon at all.
 *
 * <p>Scope: READ for commands that only look (list, info, show, changes, pins, check), WRITE for those
 * that change the datastore, ADMIN for those that read or write files on the daemon's host — every
 * command given a file argument ({@link Path}-typed, or listed below), since over TCP that file is the
 * daemon host's, not the client's.
 */
final class CommandPlans {
  /** What one command needs: its scope (null: by the leaf name) and its job kind (null: runs at once). */
  private record Kind(Scope scope, String jobKind) {}

  private static final Map<String, Kind> TABLE = Map.ofEntries(
      Map.entry("datastore check", new Kind(Scope.READ, "check")),
      Map.entry("datastore clean", new Kind(Scope.WRITE, "clean")),
      Map.entry("volume import", new Kind(Scope.ADMIN, "import")),
      Map.entry("volume export", new Kind(Scope.ADMIN, "export")),
      // Copies of whole files: long, and silent until done (a job's stream has a heartbeat).
      Map.entry("volume read", new Kind(Scope.ADMIN, "read")),
      Map.entry("volume write", new Kind(Scope.ADMIN, "write")),
      Map.entry("volume flatten", new Kind(Scope.WRITE, "flatten")),
      Map.entry("pool create", new Kind(Scope.WRITE, "pool-create")),
      Map.entry("pool recompose", new Kind(Scope.WRITE, "pool-recompose")),
      Map.entry("pool refresh", new Kind(Scope.WRITE, "pool-refresh")),
      Map.entry("pool rebalance", new Kind(Scope.WRITE, PoolRebalanceCommand.JOB_KIND)),
      // The repository is a location on the daemon's host: reading and writing it is the host's files.
      Map.entry("backup create", new Kind(Scope.ADMIN, "backup")),
      Map.entry("restore", new Kind(Scope.ADMIN, "restore")),
      Map.entry("backup mount", new Kind(Scope.ADMIN, null)),
      Map.entry("ovf import", new Kind(Scope.ADMIN, "ovf-import")),
      Map.entry("ovf export", new Kind(Scope.ADMIN, "ovf-export")),
      Map.entry("migrate", new Kind(Scope.WRITE, Migrations.JOB_KIND)));

  /** Leaf names of commands that only look. */
  private static final Set<String> READERS = Set.of("list", "info", "show", "changes", "pins", "check", "map",
      "compare");

  /**
   * Command groups (and commands) that are never sent to a daemon: servers themselves, commands on
   * image files that touch no datastore, and those that talk to the daemon's API on their own.
   */
  private static final List<String> LOCAL_ONLY = List.of("serve", "nbd", "image", "help", "token", "job", "export",
      "dashboard", "replica");

  private CommandPlans() {}

  /** Returns the leaf command's parse result. */
  static ParseResult leaf(ParseResult top) {
    ParseResult p = top;
    while (p.hasSubcommand()) {
      p = p.subcommand();
    }
    return p;
  }

  /** Returns the command's path below {@code vstore}, such as {@code volume import}. */
  static String path(CommandSpec leaf) {
    String q = leaf.qualifiedName(" ");
    int space = q.indexOf(' ');
    return space < 0 ? "" : q.substring(space + 1);
  }

  /** Returns whether the parsed command line asks for help or the version instead of running. */
  static boolean asksForHelp(ParseResult top) {
    for (ParseResult p = top; p != null; p = p.hasSubcommand() ? p.subcommand() : null) {
      if (p.isUsageHelpRequested() || p.isVersionHelpRequested()) {
        return true;
      }
    }
    return false;
  }

  /** Returns whether the command works on a datastore and so goes to the daemon that owns it. */
  static boolean forwardable(ParseResult top) {
    if (asksForHelp(top)) {
      return false;
    }
    return forwardable(leaf(top).commandSpec());
  }

  /** Returns whether the command {@code leaf} works on a datastore and so goes to the daemon that owns it. */
  static boolean forwardable(CommandSpec leaf) {
    String path = path(leaf);
    for (String local : LOCAL_ONLY) {
      if (path.equals(local) || path.startsWith(local + " ")) {
        return false;
      }
    }
    return leaf.mixins().values().stream().anyMatch(m -> m.userObject() instanceof DatastoreLocation);
  }

  /** Returns the job kind of the command at {@code path} (such as {@code volume import}), or null if it runs at once. */
  static String jobKind(String path) {
    Kind kind = TABLE.get(path);
    return kind == null ? null : kind.jobKind();
  }

  /** Returns what running the parsed command line takes in the daemon. */
  static CommandRunner.Plan plan(ParseResult top) {
    ParseResult leaf = leaf(top);
    String path = path(leaf.commandSpec());
    Kind kind = TABLE.get(path);
    Scope scope = kind != null ? kind.scope()
        : READERS.contains(leaf.commandSpec().name()) ? Scope.READ : Scope.WRITE;
    if (takesFiles(leaf)) {
      scope = Scope.ADMIN;
    }
    String jobKind = kind == null ? null : kind.jobKind();
    if (path.equals("restore") && leaf.hasMatchedOption("--instant")) {
      // Instant restore only lays the volume over the point and exports it (nothing in proportion to
      // its size); the copy is a light job of its own. As a heavy job it would queue behind others.
      jobKind = null;
    }
    return new CommandRunner.Plan(scope, jobKind, target(leaf));
  }

  /** Returns whether a file argument (other than the datastore) was given. */
  private static boolean takesFiles(ParseResult leaf) {
    for (ArgSpec arg : leaf.matchedArgs()) {
      boolean datastore = arg.isOption() && ((CommandLine.Model.OptionSpec) arg).longestName().equals("--datastore");
      boolean caCert = arg.isOption() && ((CommandLine.Model.OptionSpec) arg).longestName().equals("--ca-cert");
      if (!datastore && !caCert && (arg.type() == Path.class || arg.auxiliaryTypes().length > 0
          && arg.auxiliaryTypes()[0] == Path.class)) {
        return true;
      }
    }
    return false;
  }

  /** Returns the object the command works on: its first positional that is not a file, else null (the datastore). */
  private static String target(ParseResult leaf) {
    for (ArgSpec arg : leaf.matchedPositionals()) {
      if (arg.type() != Path.class && !arg.paramLabel().equals("FILE")) {
        List<String> values = arg.stringValues();
        if (!values.isEmpty()) {
          return values.getFirst();
        }
      }
    }
    return null;
  }
}
