package io.vstore.offline;

import io.vstore.server.CommandRunner;
import java.util.List;

/** The command runner of the offline tests' daemons: they serve check-outs and check-ins, never forwarded commands. */
public final class NoCommands implements CommandRunner {
  public static final CommandRunner RUNNER = new NoCommands();

  private NoCommands() {}

  @Override
  public Plan plan(List<String> argv) {
    throw new IllegalArgumentException("no commands in this test");
  }

  @Override
  public int run(Invocation invocation) {
    return 2;
  }
}
