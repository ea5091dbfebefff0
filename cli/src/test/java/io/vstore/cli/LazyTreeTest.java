package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** A command line gets only the command group it names, and behaves as with the whole tree. */
final class LazyTreeTest {
  @Test
  void findsTheFirstWordPastTheGlobalOptions() {
    assertThat(Vstore.firstWord(new String[] {"volume", "list"})).isEqualTo("volume");
    assertThat(Vstore.firstWord(new String[] {"-D", "/d", "--debug", "--remote", "http://h:1", "--token=t", "-D/e",
        "--no-wait", "--datastore", "x", "vm", "list"})).isEqualTo("vm");
    assertThat(Vstore.firstWord(new String[] {"--help", "volume"})).isNull();
    assertThat(Vstore.firstWord(new String[] {"-D", "/d"})).isNull();
    assertThat(Vstore.firstWord(new String[] {"@args"})).isNull();
  }

  @Test
  void buildsOnlyTheNamedGroupAndTheWholeTreeOtherwise() {
    assertThat(Vstore.commandLine(new String[] {"-D", "/d", "volume", "list"}).getSubcommands().keySet())
        .containsExactly("volume");
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
