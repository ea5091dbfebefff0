package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Records of every library reach vstore's one-line terminal format through {@link Logs}, found as the process's logger finder. */
final class LogsTest {
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @AfterEach
  void restore() {
    Logs.install(System.err, false);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theProcessFindsLogsThroughTheServiceFile() {
    assertThat(System.LoggerFinder.getLoggerFinder()).isInstanceOf(Logs.class);
  }

  @Test
  void warningsAreOneLineAndDebugIsHiddenUnlessAsked() {
    Logs.install(new PrintStream(err, true, StandardCharsets.UTF_8), false);
    System.Logger log = System.getLogger("io.vstore.test");
    log.log(System.Logger.Level.DEBUG, "hidden");
    log.log(System.Logger.Level.WARNING, "usage {0}% of\n{1}", 80, "/ds");
    log.log(System.Logger.Level.ERROR, "flush failed", new java.io.IOException("disk gone"));
    assertThat(log.isLoggable(System.Logger.Level.DEBUG)).isFalse();
    assertThat(err()).isEqualTo("vstore: warning: usage 80% of /ds" + System.lineSeparator()
        + "vstore: error: flush failed: disk gone" + System.lineSeparator());
  }

  @Test
  void debugShowsEveryLevel() {
    Logs.install(new PrintStream(err, true, StandardCharsets.UTF_8), true);
    System.getLogger("io.vstore.test").log(System.Logger.Level.TRACE, "step {0}", 3);
    assertThat(err()).isEqualTo("vstore: debug: step 3" + System.lineSeparator());
  }

  @Test
  void slf4jRecordsArriveTooAndItsDebugIsOff() throws Exception {
    Logs.install(new PrintStream(err, true, StandardCharsets.UTF_8), false);
    // Another test of this JVM may have started java.util.logging before install: read again.
    java.util.logging.LogManager.getLogManager().readConfiguration();
    org.slf4j.Logger jetty = org.slf4j.LoggerFactory.getLogger("org.eclipse.jetty.test");
    jetty.info("started");
    jetty.warn("port {} busy", 8080);
    assertThat(jetty.isDebugEnabled()).isFalse();
    assertThat(err()).isEqualTo("vstore: warning: port 8080 busy" + System.lineSeparator());
  }

  @Test
  void aLogFileTakesEveryOwnRecordAndTheLibrariesInfoButNotTheirDebug(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws Exception {
    java.nio.file.Path file = tmp.resolve("vstore.log");
    Logs.install(new PrintStream(err, true, StandardCharsets.UTF_8), false, file.toString());
    java.util.logging.LogManager.getLogManager().readConfiguration();
    System.getLogger("io.vstore.test").log(System.Logger.Level.DEBUG, "own debug");
    org.slf4j.Logger jetty = org.slf4j.LoggerFactory.getLogger("org.eclipse.jetty.test");
    jetty.info("started");
    jetty.debug("noise");
    assertThat(jetty.isDebugEnabled()).isFalse();
    String log = java.nio.file.Files.readString(file);
    assertThat(log).contains("DEBUG io.vstore.test: own debug").contains("org.eclipse.jetty.test: started")
        .doesNotContain("noise");
    assertThat(err()).isEmpty();
  }
}
