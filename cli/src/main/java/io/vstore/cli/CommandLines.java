package io.vstore.cli;

import java.io.PrintWriter;
import java.net.BindException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.List;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * What every command of the tree shares, applied once to the built {@link CommandLine}: help
 * options on every command, usage errors as one line and a hint, the shell completion script,
 * and errors described by what failed.
 */
final class CommandLines {
  /** The exit code of a usage error: a bad option, argument or size. */
  static final int USAGE = 2;

  private CommandLines() {}

  /**
   * Adds {@code --help}/{@code -h} (and {@code --version}) to every command and installs the
   * usage-error handler; {@code wholeTree}: {@code root} holds every command, so it also gets
   * {@code completion} (a tree built for one command group does not need it).
   */
  static void configure(CommandLine root, boolean wholeTree) {
    if (wholeTree && !root.getSubcommands().containsKey("completion")) {
      CommandLine completion = new CommandLine(new AutoComplete.GenerateCompletion());
      completion.getCommandSpec().name("completion").usageMessage().hidden(false)
          .description("Print a bash/zsh completion script: source <(vstore completion)");
      root.addSubcommand("completion", completion);
    }
    withHelp(root);
    if (root.getCommandSpec().usageMessage().footer().length == 0) {
      root.getCommandSpec().usageMessage().footer("",
          "Commands on a datastore use -D PATH, else $VSTORE_DATASTORE, else $XDG_DATA_HOME/vstore/default.",
          "Exit codes: 0 success, 1 error, 2 usage error (see docs/CLI.md for the exceptions).",
          "'vstore help COMMAND...' or 'COMMAND --help' shows a command's options.");
    }
    root.setParameterExceptionHandler(CommandLines::usageError);
    // "image resize FILE -1G" shrinks by 1G, as with qemu-img: there a leading '-' starts a value.
    for (String parent : new String[] {"image", "volume"}) {
      CommandLine p = root.getSubcommands().get(parent);
      if (p != null && p.getSubcommands().containsKey("resize")) {
        p.getSubcommands().get("resize").setUnmatchedOptionsArePositionalParams(true);
      }
    }
  }

  private static void withHelp(CommandLine line) {
    CommandSpec spec = line.getCommandSpec();
    if (spec.optionsMap().get("--help") == null) {
      spec.mixinStandardHelpOptions(true);
    }
    for (CommandLine sub : line.getSubcommands().values()) {
      withHelp(sub);
    }
  }

  /** Prints a usage error as one line naming the command, and a hint to its help; returns {@link #USAGE}. */
  static int usageError(ParameterException ex, String[] args) {
    CommandLine line = ex.getCommandLine();
    PrintWriter err = line.getErr();
    String command = line.getCommandSpec().qualifiedName();
    String negative = negativeNumber(line);
    // picocli takes "-5G" for an unknown option and then misses the value: say what is wrong with it.
    err.println(command + ": " + (negative != null
        ? "'" + negative + "' is negative (sizes, offsets and counts cannot be)" : oneLine(ex.getMessage())));
    if (ex instanceof UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
      err.println("Did you mean: " + String.join(", ", u.getSuggestions()) + "?");
    }
    err.println("Try '" + command + " --help' for more information.");
    err.flush();
    return line.getCommandSpec().exitCodeOnInvalidInput();
  }

  /** Returns the first argument left unmatched that is a negative number with an optional unit, or null. */
  private static String negativeNumber(CommandLine line) {
    if (line.getParseResult() == null) {
      return null;
    }
    for (String arg : line.getParseResult().unmatched()) {
      if (arg.matches("-\\d+(\\.\\d+)?[A-Za-z]*")) {
        return arg;
      }
    }
    return null;
  }

  /**
   * Returns a one-line description of {@code ex} naming what failed and why: the file and the
   * reason for file system errors (whose own messages are often just the path), else its message,
   * else its type.
   */
  static String describe(Throwable ex) {
    if (ex instanceof FileSystemException f) {
      String file = f.getFile() == null ? "" : f.getFile();
      String other = f.getOtherFile() == null ? "" : " -> " + f.getOtherFile();
      String reason = switch (f) {
        case NoSuchFileException n -> "no such file or directory";
        case AccessDeniedException a -> "permission denied";
        case FileAlreadyExistsException a -> "already exists";
        case DirectoryNotEmptyException d -> "directory not empty";
        case NotDirectoryException d -> "not a directory";
        default -> f.getReason() == null ? f.getClass().getSimpleName() : f.getReason();
      };
      return file + other + ": " + reason;
    }
    if (ex instanceof BindException b && (b.getMessage() == null || !b.getMessage().startsWith("cannot listen"))) {
      return "cannot listen: " + oneLine(String.valueOf(b.getMessage()));
    }
    String message = ex.getMessage();
    if (message == null || message.isBlank()) {
      return ex.getClass().getSimpleName() + (ex.getCause() != null ? ": " + describe(ex.getCause()) : "");
    }
    if (ex.getCause() instanceof FileSystemException cause && !message.contains(": ")) {
      return oneLine(message) + ": " + describe(cause);
    }
    return oneLine(message);
  }

  private static String oneLine(String s) {
    return s.strip().replace('\n', ' ');
  }

  /** Returns every command of the tree below {@code line} (itself included), for tests and documentation. */
  static List<CommandLine> all(CommandLine line) {
    List<CommandLine> out = new ArrayList<>();
    out.add(line);
    for (CommandLine sub : line.getSubcommands().values()) {
      out.addAll(all(sub));
    }
    return out;
  }
}
