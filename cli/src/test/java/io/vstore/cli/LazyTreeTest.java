package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** A command line gets only the command group it names, and behaves as with the whole tree. */
final class LazyTreeTest {
  @Test
  void findsTheFirstWordPastTheGlobalOptions() {
    assertThat(CommandTree.firstWord(new String[] {"volume", "list"})).isEqualTo("volume");
    assertThat(CommandTree.firstWord(new String[] {"-D", "/d", "--debug", "--remote", "http://h:1", "--token=t", "-D/e",
        "--no-wait", "--datastore", "x", "vm", "list"})).isEqualTo("vm");
    assertThat(CommandTree.firstWord(new String[] {"--help", "volume"})).isNull();
    assertThat(CommandTree.firstWord(new String[] {"-D", "/d"})).isNull();
    assertThat(CommandTree.firstWord(new String[] {"@args"})).isNull();
  }

  @Test
  void buildsOnlyTheNamedGroupAndTheWholeTreeOtherwise() {
    CommandLine volumeList = Vstore.commandLine(new String[] {"-D", "/d", "volume", "--debug", "list", "-D", "/e"});
    assertThat(volumeList.getSubcommands().keySet()).containsExactly("volume");
    assertThat(volumeList.getSubcommands().get("volume").getSubcommands().keySet()).containsExactly("list");
    CommandLine vmSnapshot = Vstore.commandLine(new String[] {"vm", "snapshot", "create", "vm1@s"})
        .getSubcommands().get("vm");
    assertThat(vmSnapshot.getSubcommands().keySet()).containsExactly("snapshot");
    assertThat(vmSnapshot.getSubcommands().get("snapshot").getSubcommands().keySet()).containsExactly("create");
    Set<String> volumeCommands = Vstore.commandLine().getSubcommands().get("volume").getSubcommands().keySet();
    // A misspelt or missing subcommand, or an option first: the whole group, for its help and suggestions.
    for (String line : List.of("volume lst", "volume", "volume --help list")) {
      assertThat(Vstore.commandLine(line.split(" ")).getSubcommands().get("volume").getSubcommands().keySet())
          .as(line).containsExactlyElementsOf(volumeCommands);
    }
    // A group that runs or has options of its own is built as a whole.
    assertThat(Vstore.commandLine(new String[] {"checkout", "list"}).getSubcommands().get("checkout")
        .getSubcommands()).hasSizeGreaterThan(1);
    List<String> all = new ArrayList<>(Vstore.commandLine().getSubcommands().keySet());
    assertThat(all).startsWith("help", "datastore", "volume").contains("dashboard", "completion");
    for (String line : List.of("--help", "volum list", "help volume create", "completion", "")) {
      String[] args = line.isEmpty() ? new String[0] : line.split(" ");
      assertThat(Vstore.commandLine(args).getSubcommands().keySet()).as(line).containsExactlyElementsOf(all);
    }
  }

  @Test
  void everyCommandsHelpAndUsageErrorIsTheSameAsWithTheWholeTree() {
    for (CommandLine c : CommandLines.all(Vstore.commandLine())) {
      String path = CommandPlans.path(c.getCommandSpec());
      if (path.isEmpty()) {
        continue;
      }
      for (String extra : List.of("--help", "--no-such-option")) {
        List<String> args = new ArrayList<>(List.of(path.split(" ")));
        args.add(extra);
        String[] argv = args.toArray(String[]::new);
        assertThat(run(Vstore.commandLine(argv), argv)).as(path + " " + extra)
            .isEqualTo(run(Vstore.commandLine(), argv));
      }
    }
  }

  private static String run(CommandLine cl, String[] args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Vstore.runHere(cl, args, new PrintWriter(out, true), new PrintWriter(err, true));
    return exit + "\n" + out + "\n" + err;
  }
}
