package io.vstore.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code vstore} command: one line of error on stderr and a non-zero exit on failure. */
@Command(
    name = "vstore",
    mixinStandardHelpOptions = true,
    versionProvider = Vstore.Version.class,
    description = "Storage virtualization for virtual machines.",
    subcommands = {HelpCommand.class, DatastoreCommand.class, VolumeCommand.class, SnapshotCommand.class,
        CloneCommand.class, CbtCommand.class, VmCommand.class, PoolCommand.class, ImageCommand.class, NbdCommand.class})
public final class Vstore {

  @Option(names = "--debug", description = "Show stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
  boolean debug;

  /** Runs the command line and exits with its code. */
  public static void main(String[] args) {
    Logs.install(System.err, java.util.Arrays.asList(args).contains("--debug"));
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs the command line with the given streams and returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = commandLine();
    cl.setOut(out);
    cl.setErr(err);
    return cl.execute(args);
  }

  /** Builds the command tree with vstore's converters and error handling. */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Vstore());
    cl.registerConverter(Long.class, new Sizes());
    cl.registerConverter(long.class, new Sizes());
    CommandLines.configure(cl);
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
