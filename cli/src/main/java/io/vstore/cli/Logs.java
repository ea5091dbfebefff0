package io.vstore.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.logging.FileHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * The one logging set-up of a command-line process: the libraries' log records (they log through
 * {@link System.Logger}, which lands in {@code java.util.logging}) become one concise line on
 * stderr, {@code vstore: warning: ...}, for warnings and errors only ({@code --debug}: every
 * level); {@code VSTORE_LOG=FILE} also appends full records to FILE. The daemon configures its own log.
 */
final class Logs {
  private Logs() {}

  /** Replaces the default two-line console records with vstore's set-up; {@code debug} shows every level. */
  static void install(PrintStream stderr, boolean debug) {
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    Level level = debug ? Level.ALL : Level.WARNING;
    root.setLevel(level);
    Handler terminal = new Handler() {
      @Override
      public void publish(LogRecord r) {
        if (isLoggable(r)) {
          stderr.println(getFormatter().format(r));
          stderr.flush();
        }
      }

      @Override
      public void flush() {
        stderr.flush();
      }

      @Override
      public void close() {
        flush();
      }
    };
    terminal.setLevel(level);
    terminal.setFormatter(new Concise());
    root.addHandler(terminal);
    String file = System.getenv("VSTORE_LOG");
    if (file != null && !file.isBlank()) {
      try {
        FileHandler full = new FileHandler(Path.of(file).toAbsolutePath().toString(), true);
        full.setFormatter(new SimpleFormatter());
        full.setLevel(Level.ALL);
        root.addHandler(full);
        root.setLevel(Level.ALL);
      } catch (IOException | RuntimeException e) {
        stderr.println("vstore: warning: cannot log to " + file + ": " + CommandLines.describe(e));
      }
    }
  }

  /** Formats a record as {@code vstore: LEVEL: message} on one line, the exception's description appended. */
  static final class Concise extends Formatter {
    @Override
    public String format(LogRecord r) {
      String level = r.getLevel().intValue() >= Level.SEVERE.intValue() ? "error"
          : r.getLevel().intValue() >= Level.WARNING.intValue() ? "warning" : "debug";
      String message = formatMessage(r).replace('\n', ' ');
      return "vstore: " + level + ": " + message + (r.getThrown() == null ? ""
          : ": " + CommandLines.describe(r.getThrown()));
    }
  }
}
