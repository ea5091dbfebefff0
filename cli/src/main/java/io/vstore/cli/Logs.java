package io.vstore.cli;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.MessageFormat;
import java.time.Instant;
import java.util.MissingResourceException;
import java.util.ResourceBundle;

/**
 * The one logging set-up of a vstore process. vstore's libraries log through {@link System.Logger},
 * and this class is the process's {@link System.LoggerFinder}, named in {@code META-INF/services}:
 * every record becomes one concise line on stderr, {@code vstore: warning: ...}, for warnings and
 * errors only ({@code --debug}: every level); {@code VSTORE_LOG=FILE} also appends full records to
 * FILE. Jetty and the AWS SDK log through SLF4J into {@code java.util.logging}, whose configuration
 * ({@link JulConfig}) sends their records to the same place.
 *
 * <p>Why not {@code java.util.logging} for everything: starting its {@code LogManager}
 * (configuration file, root logger, console handler, then replacing them) was paid by every
 * command, logging or not. Now only a process that uses SLF4J starts it.
 */
public final class Logs extends System.LoggerFinder {
  /** Where records go; replaced as a whole by {@link #install}. Until then: warnings and errors on stderr. */
  private static volatile Sinks sinks = new Sinks(System.err, System.Logger.Level.WARNING, null);

  /** For the service loader. */
  public Logs() {}

  /** Sends warnings and errors to {@code stderr} ({@code debug}: every level), and to {@code VSTORE_LOG} when set. */
  static void install(PrintStream stderr, boolean debug) {
    install(stderr, debug, System.getenv("VSTORE_LOG"));
  }

  /** As {@link #install(PrintStream, boolean)}, with the full log in the file {@code name} (null or blank: none). */
  static void install(PrintStream stderr, boolean debug, String name) {
    PrintStream file = null;
    if (name != null && !name.isBlank()) {
      try {
        file = new PrintStream(new FileOutputStream(Path.of(name).toAbsolutePath().toFile(), true), false,
            StandardCharsets.UTF_8);
      } catch (IOException | RuntimeException e) {
        stderr.println("vstore: warning: cannot log to " + name + ": " + CommandLines.describe(e));
      }
    }
    sinks = new Sinks(stderr, debug ? System.Logger.Level.ALL : System.Logger.Level.WARNING, file);
    // Read when (and only if) java.util.logging starts: see JulConfig.
    // A string, not JulConfig.class.getName(): naming the class would load it in every process.
    System.setProperty("java.util.logging.config.class", "io.vstore.cli.Logs$JulConfig");
  }

  @Override
  public System.Logger getLogger(String name, Module module) {
    return new Line(name);
  }

  /** Returns a record as its terminal line: {@code vstore: LEVEL: message}, the exception's description appended. */
  static String terminalLine(System.Logger.Level level, String message, Throwable thrown) {
    String word = level.getSeverity() >= System.Logger.Level.ERROR.getSeverity() ? "error"
        : level.getSeverity() >= System.Logger.Level.WARNING.getSeverity() ? "warning" : "debug";
    return "vstore: " + word + ": " + message.replace('\n', ' ')
        + (thrown == null ? "" : ": " + CommandLines.describe(thrown));
  }

  /** Formats {@code format} with {@code params} as {@link System.Logger} defines it (MessageFormat). */
  static String format(String format, Object... params) {
    if (format == null) {
      return "";
    }
    if (params == null || params.length == 0) {
      return format;
    }
    try {
      return MessageFormat.format(format, params);
    } catch (IllegalArgumentException e) {
      return format; // a malformed pattern is shown as written rather than lost
    }
  }

  /**
   * The destinations of records.
   *
   * @param terminal stderr
   * @param terminalLevel the lowest level shown on {@code terminal}
   * @param file the full log ({@code VSTORE_LOG}), every level; null when not asked for
   */
  private record Sinks(PrintStream terminal, System.Logger.Level terminalLevel, PrintStream file) {
    boolean wants(System.Logger.Level level) {
      return level != System.Logger.Level.OFF
          && (file != null || level.getSeverity() >= terminalLevel.getSeverity());
    }

    void publish(String logger, System.Logger.Level level, String message, Throwable thrown) {
      if (level.getSeverity() >= terminalLevel.getSeverity()) {
        synchronized (terminal) {
          terminal.println(terminalLine(level, message, thrown));
          terminal.flush();
        }
      }
      if (file != null) {
        synchronized (file) {
          file.println(Instant.now() + " " + level.getName() + " " + logger + ": " + message);
          if (thrown != null) {
            thrown.printStackTrace(file);
          }
          file.flush();
        }
      }
    }
  }

  /**
   * The configuration of {@code java.util.logging} (named by {@code java.util.logging.config.class},
   * instantiated by its {@code LogManager} when it starts): one handler, {@link JulHandler}, and a
   * root level no lower than what the sinks show, so that a library asking whether debug logging
   * is on (Jetty does on its hot paths) hears "no" unless {@code --debug} asks for it.
   */
  public static final class JulConfig {
    /** Called by {@code LogManager}. */
    public JulConfig() throws IOException {
      Sinks s = sinks;
      // A log file takes their INFO records, not their debug ones (Jetty's fill thousands of lines a
      // second and slow the daemon): those come with --debug.
      String level = s.terminalLevel() == System.Logger.Level.ALL ? "ALL" : s.file() != null ? "INFO" : "WARNING";
      String properties = "handlers=" + JulHandler.class.getName() + "\n.level=" + level + "\n";
      java.util.logging.LogManager.getLogManager()
          .readConfiguration(new java.io.ByteArrayInputStream(properties.getBytes(StandardCharsets.ISO_8859_1)));
    }
  }

  /** Hands {@code java.util.logging} records to the sinks. */
  public static final class JulHandler extends java.util.logging.Handler {
    private final java.util.logging.Formatter messages = new java.util.logging.SimpleFormatter();

    @Override
    public void publish(java.util.logging.LogRecord r) {
      System.Logger.Level level = levelOf(r.getLevel());
      Sinks s = sinks;
      if (s.wants(level)) {
        s.publish(r.getLoggerName(), level, messages.formatMessage(r), r.getThrown());
      }
    }

    static System.Logger.Level levelOf(java.util.logging.Level level) {
      int v = level.intValue();
      return v >= java.util.logging.Level.SEVERE.intValue() ? System.Logger.Level.ERROR
          : v >= java.util.logging.Level.WARNING.intValue() ? System.Logger.Level.WARNING
          : v >= java.util.logging.Level.INFO.intValue() ? System.Logger.Level.INFO
          : v >= java.util.logging.Level.FINE.intValue() ? System.Logger.Level.DEBUG
          : System.Logger.Level.TRACE;
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }

  /** One named logger: everything it does is read from the current {@link Sinks}. */
  private record Line(String name) implements System.Logger {
    @Override
    public String getName() {
      return name;
    }

    @Override
    public boolean isLoggable(Level level) {
      return sinks.wants(level);
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
      Sinks s = sinks;
      if (s.wants(level)) {
        s.publish(name, level, localized(bundle, msg), thrown);
      }
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String format, Object... params) {
      Sinks s = sinks;
      if (s.wants(level)) {
        s.publish(name, level, format(localized(bundle, format), params), null);
      }
    }

    private static String localized(ResourceBundle bundle, String key) {
      if (key == null) {
        return "";
      }
      if (bundle == null) {
        return key;
      }
      try {
        return bundle.getString(key);
      } catch (MissingResourceException e) {
        return key;
      }
    }
  }
}
