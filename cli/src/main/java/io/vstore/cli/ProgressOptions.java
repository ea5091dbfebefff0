package io.vstore.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The {@code --progress}/{@code --no-progress} options of a long command: by default a bar is
 * shown only when stderr is a terminal, so that scripts and logs stay quiet.
 */
final class ProgressOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec command;

  @Option(names = {"-p", "--progress"}, negatable = true,
      description = "Show a progress bar on stderr (default: only when it is a terminal); --no-progress hides it.")
  Boolean progress;

  /** Returns a bar for {@code total} bytes of work labelled {@code label}, shown as the options say. */
  Progress bar(String label, long total) {
    boolean show = progress != null ? progress : Terminal.isInteractive();
    return new Progress(label, total, command.commandLine().getErr(), show);
  }
}
