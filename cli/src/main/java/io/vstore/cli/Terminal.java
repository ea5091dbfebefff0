package io.vstore.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** What vstore asks of the terminal: whether there is one, and its width. */
final class Terminal {
  private static final int DEFAULT_COLUMNS = 80;

  private Terminal() {}

  /** Returns whether this process talks to a person: its console is a terminal. */
  static boolean isInteractive() {
    var console = System.console();
    return console != null && console.isTerminal();
  }

  /**
   * Returns the terminal's width: {@code COLUMNS} when exported, else what {@code stty size}
   * reports for the controlling terminal, else 80. Asked only when a bar is drawn, so commands
   * that draw none do not pay for the child process.
   */
  static int columns() {
    String env = System.getenv("COLUMNS");
    if (env != null && env.matches("\\d{1,4}") && Integer.parseInt(env) > 0) {
      return Integer.parseInt(env);
    }
    try {
      Process p = new ProcessBuilder("sh", "-c", "stty size < /dev/tty").redirectErrorStream(true).start();
      if (p.waitFor(1, TimeUnit.SECONDS) && p.exitValue() == 0) {
        String[] parts = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+");
        if (parts.length == 2 && parts[1].matches("\\d{1,4}") && Integer.parseInt(parts[1]) > 0) {
          return Integer.parseInt(parts[1]);
        }
      } else {
        p.destroy();
      }
    } catch (IOException e) {
      return DEFAULT_COLUMNS; // no sh or no stty: the common width
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return DEFAULT_COLUMNS;
  }
}
