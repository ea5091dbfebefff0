package io.vstore.cli;

import io.vstore.blockstore.store.NativePreload;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code vstore} command: one line of error on stderr and a non-zero exit on failure. A command
 * on a datastore that a daemon owns is sent to it ({@link ClientDispatch}); otherwise it runs here.
 */
@Command(
    name = "vstore",
    mixinStandardHelpOptions = true,
    versionProvider = Vstore.Version.class,
    description = "Storage virtualization for virtual machines.",
    footerHeading = "%nEnvironment:%n",
    footer = {
        "  VSTORE_DATASTORE  Datastore directory when -D is not given (default: $XDG_DATA_HOME/vstore/default).",
        "  VSTORE_REMOTE     URL of a daemon on another host, as --remote.",
        "  VSTORE_TOKEN      API token for VSTORE_REMOTE, as --token.",
        "",
        "Commands on a datastore use -D PATH, else $VSTORE_DATASTORE, else $XDG_DATA_HOME/vstore/default.",
        "Exit codes: 0 success, 1 error, 2 usage error (see docs/CLI.md for the exceptions).",
        "'vstore help COMMAND...' or 'COMMAND --help' shows a command's options.",
        "Global options (-D, --debug, --remote, --token, --ca-cert) go before or after the command.",
        "When 'vstore serve' owns the datastore, commands are sent to it; otherwise they run in this process."})
public final class Vstore {
  /**
   * The top-level commands, by name in the order of the help. Not in the annotation: picocli reads
   * every command class of the tree when it builds it, which was a third of a short command's
   * start-up, so a command line gets only the command it names ({@link CommandTree}).
   */
  private static final List<Map.Entry<String, Class<?>>> COMMANDS = List.of(
      Map.entry("help", HelpCommand.class), Map.entry("datastore", DatastoreCommand.class),
      Map.entry("volume", VolumeCommand.class), Map.entry("snapshot", SnapshotCommand.class),
      Map.entry("clone", CloneCommand.class), Map.entry("cbt", CbtCommand.class), Map.entry("vm", VmCommand.class),
      Map.entry("pool", PoolCommand.class), Map.entry("image", ImageCommand.class), Map.entry("nbd", NbdCommand.class),
      Map.entry("serve", ServeCommand.class), Map.entry("token", TokenCommand.class), Map.entry("job", JobCommand.class),
      Map.entry("export", ExportCommand.class), Map.entry("dashboard", DashboardCommand.class),
      Map.entry("backup", BackupCommand.class), Map.entry("restore", RestoreCommand.class),
      Map.entry("migrate", MigrateCommand.class), Map.entry("replica", ReplicaCommand.class),
      Map.entry("ovf", OvfCommand.class), Map.entry("checkout", CheckoutCommand.class),
      Map.entry("checkin", CheckinCommand.class), Map.entry("offline", OfflineCommand.class));

  @Option(names = {"-D", "--datastore"}, paramLabel = "PATH", scope = CommandLine.ScopeType.INHERIT,
      description = "Datastore directory (default: $VSTORE_DATASTORE, else $XDG_DATA_HOME/vstore/default);"
          + " 'serve' takes several.")
  List<Path> datastores = new ArrayList<>();

  @Option(names = "--debug", description = "Show stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
  boolean debug;

  @Option(names = "--remote", paramLabel = "URL", scope = CommandLine.ScopeType.INHERIT,
      description = "Send the command to the daemon at URL (http://127.0.0.1:PORT or https://HOST:PORT;"
          + " default: $VSTORE_REMOTE).")
  String remote;

  @Option(names = "--token", paramLabel = "TOKEN", scope = CommandLine.ScopeType.INHERIT,
      description = "API token for --remote (default: $VSTORE_TOKEN).")
  String token;

  @Option(names = "--ca-cert", paramLabel = "PEM", scope = CommandLine.ScopeType.INHERIT,
      description = "Trust the daemon's certificate signed by (or being) this PEM certificate, for https --remote.")
  Path caCert;

  @Option(names = "--no-wait", scope = CommandLine.ScopeType.INHERIT,
      description = "For a command that runs as a job in the daemon: print the job id and return at once.")
  boolean noWait;

  /** Runs the command line and exits with its code. */
  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true);
    PrintWriter err = new PrintWriter(System.err, true);
    // A short command for a local daemon needs no logging set-up: no library runs in this process.
    OptionalInt quick = Forwarder.forward(args, out, err);
    if (quick.isPresent()) {
      // halt, not exit: this process registered no shutdown hook and holds nothing to release, and
      // System.exit first sets up the platform logger (JDK 21+ logs Runtime.exit), whose service
      // lookup opens every jar of the class path: about 70 of them, for nothing.
      out.flush();
      err.flush();
      System.out.flush();
      System.err.flush();
      Runtime.getRuntime().halt(quick.getAsInt());
    }
    Logs.install(System.err, java.util.Arrays.asList(args).contains("--debug"));
    // No daemon owns the datastore: run here without asking ClientDispatch, which would parse and
    // plan the command line only to find that out again.
    if (Forwarder.noDaemon(args)) {
      NativePreload.startInBackground(); // while picocli builds and parses, on the other core
      System.exit(runHere(args, out, err));
    }
    System.exit(runWithoutFastPath(args, out, err));
  }

  /**
   * Runs the command line with the given streams and returns the exit code: through the daemon that
   * owns the datastore when one answers (or {@code --remote}), else in this process.
   */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    if (DaemonContext.current().isEmpty()) {
      OptionalInt quick = Forwarder.forward(args, out, err);
      if (quick.isPresent()) {
        return quick.getAsInt();
      }
    }
    return runWithoutFastPath(args, out, err);
  }

  /** Runs the command line as {@link #run} does, without first trying {@link Forwarder}. */
  private static int runWithoutFastPath(String[] args, PrintWriter out, PrintWriter err) {
    // Building the command tree costs more than parsing: one tree serves both (picocli resets
    // every option to its initial value before each parse).
    CommandLine cl = commandLine(args);
    if (DaemonContext.current().isEmpty()) {
      OptionalInt forwarded = ClientDispatch.dispatch(cl, args, out, err);
      if (forwarded.isPresent()) {
        return forwarded.getAsInt();
      }
    }
    return runHere(cl, args, out, err);
  }

  /** Runs the command line in this process (in the daemon, on the datastores it holds open). */
  static int runHere(String[] args, PrintWriter out, PrintWriter err) {
    return runHere(commandLine(args), args, out, err);
  }

  /** Runs the command line in this process with {@code cl}, a command tree built by {@link #commandLine}. */
  static int runHere(CommandLine cl, String[] args, PrintWriter out, PrintWriter err) {
    cl.setOut(out);
    cl.setErr(err);
    return cl.execute(args);
  }

  /** Returns the global options of the command line {@code spec} belongs to. */
  static Vstore globals(CommandLine.Model.CommandSpec spec) {
    return (Vstore) spec.root().userObject();
  }

  /** Returns the datastore given with -D (the last one when repeated), or null. */
  Path datastore() {
    return datastores.isEmpty() ? null : datastores.getLast();
  }

  /** Builds the whole command tree with vstore's converters and error handling. */
  static CommandLine commandLine() {
    return commandLine(null);
  }

  /**
   * Builds the command tree for {@code args}: only the command they name (see {@link CommandTree}),
   * else the whole tree (null args: the whole tree), for the top-level help, suggestions for a
   * misspelt command and {@code help}.
   */
  static CommandLine commandLine(String[] args) {
    CommandLine cl = new CommandLine(new Vstore());
    boolean wholeTree = CommandTree.addCommands(cl, COMMANDS, args);
    cl.registerConverter(Long.class, new Sizes());
    cl.registerConverter(long.class, new Sizes());
    // In the daemon, relative paths name files in the client's working directory, not the daemon's.
    cl.registerConverter(Path.class, DaemonContext::path);
    CommandLines.configure(cl, wholeTree);
    cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
      boolean debug = parseResult.hasMatchedOption("--debug")
          || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--debug"));
      PrintWriter err = line.getErr();
      if (debug) {
        ex.printStackTrace(err);
      }
      err.println("vstore: " + describe(ex));
      err.flush();
      return line.getCommandSpec().exitCodeOnExecutionException();
    });
    return cl;
  }

  /** Returns a one-line description of {@code ex}: its message, or its type when it has none. */
  static String describe(Throwable ex) {
    return CommandLines.describe(ex);
  }

  /** Reports the version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Vstore.class.getPackage().getImplementationVersion();
      return new String[] {"vstore " + (v == null ? "(development build)" : v)};
    }
  }
}
