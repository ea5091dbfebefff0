package io.vstore.cli;

import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help;
import picocli.CommandLine.IHelpCommandInitializable2;
import picocli.CommandLine.Parameters;

/**
 * {@code vstore help [COMMAND...]}: the help of any command, nested ones included
 * ({@code vstore help volume create}), where picocli's own help command looks one level down only.
 */
@Command(name = "help", helpCommand = true,
    description = "Show the help of a command: vstore help volume create (same as vstore volume create --help).")
final class HelpCommand implements IHelpCommandInitializable2, Runnable {
  @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command, and its subcommands, to show.")
  List<String> commands = List.of();

  private CommandLine self;
  private PrintWriter out;
  private Help.ColorScheme colors;

  @Override
  public void init(CommandLine helpCommandLine, Help.ColorScheme colorScheme, PrintWriter out, PrintWriter err) {
    this.self = helpCommandLine;
    this.colors = colorScheme;
    this.out = out;
  }

  @Override
  public void run() {
    CommandLine target = self.getParent();
    for (String word : commands) {
      CommandLine next = target.getSubcommands().get(word);
      if (next == null) {
        throw new CommandLine.ParameterException(self, "unknown command '" + word + "' in '"
            + target.getCommandSpec().qualifiedName() + "'");
      }
      target = next;
    }
    target.usage(out, colors);
    out.flush();
  }
}
