package io.vstore.server.exports;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Runs real NBD peers (nbdinfo, qemu-img, qemu-io) with a timeout; failures carry their output. */
final class Peers {
  private Peers() {}

  /** The outcome of one run. */
  record Result(int exit, String out, String err) {}

  /** Runs {@code command} and returns its stdout, failing the test if it exits non-zero. */
  static String run(String... command) {
    Result r = runAllowingFailure(command);
    if (r.exit() != 0) {
      fail(String.join(" ", command) + " exited " + r.exit() + "\nstderr: " + r.err() + "\nstdout: " + r.out());
    }
    return r.out();
  }

  /** Runs {@code command} and returns its exit code and output, whatever the exit code. */
  static Result runAllowingFailure(String... command) {
    try {
      Path out = Files.createTempFile("peer", ".out");
      Path err = Files.createTempFile("peer", ".err");
      try {
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor();
          fail(String.join(" ", command) + " did not finish in 120 s\nstderr: " + Files.readString(err));
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + command[0] + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + command[0], e);
    }
  }
}
