package io.vstore.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The {@code --json} option of a command that prints a result, and the one place that prints it:
 * as indented JSON ({@link Output#json}) with {@code --json}, else as the command's text for people.
 */
final class OutputOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec command;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  /** Prints people's text for a result of type {@code T}. */
  @FunctionalInterface
  interface Render<T> {
    /** Writes {@code result} to {@code out} as text for people. */
    void human(PrintWriter out, T result);
  }

  /** Prints {@code result} to the command's output: as JSON with {@code --json}, else through {@code human}. */
  <T> void print(T result, Render<? super T> human) {
    PrintWriter out = command.commandLine().getOut();
    if (json) {
      Output.json(out, result);
    } else {
      human.human(out, result);
      out.flush();
    }
  }
}
