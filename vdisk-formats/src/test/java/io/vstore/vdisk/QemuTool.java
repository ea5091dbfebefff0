package io.vstore.vdisk;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs qemu-img / qemu-io as the real peer in tests, with a timeout; failures carry the tool's stderr. */
public final class QemuTool {
  private static final long TIMEOUT_SECONDS = 300;

  /** What a finished tool run printed and returned. */
  public record Run(int exitCode, String stdout, String stderr) {}

  private QemuTool() {}

  /** Runs {@code command} and returns its outcome whatever the exit code. */
  public static Run run(String... command) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command);
    Path out = Files.createTempFile("qemu-out", ".txt");
    Path err = Files.createTempFile("qemu-err", ".txt");
    try {
      pb.redirectOutput(out.toFile()).redirectError(err.toFile());
      Process p;
      try {
        p = pb.start();
      } catch (IOException e) {
        throw new IOException(command[0] + " is not installed (CI installs it with apt-get): " + e.getMessage(), e);
      }
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + " timed out after " + TIMEOUT_SECONDS + " s");
      }
      return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** Runs {@code command} and fails with its stderr unless it exits 0; returns stdout. */
  public static String ok(String... command) throws IOException, InterruptedException {
    Run r = run(command);
    if (r.exitCode() != 0) {
      throw new AssertionError(String.join(" ", command) + " exited " + r.exitCode() + ": " + r.stderr() + r.stdout());
    }
    return r.stdout();
  }

  /**
   * Runs qemu-io on {@code image} (format {@code format}) with each of {@code commands} as a -c
   * option, failing if any of them reports an error; returns what it printed.
   */
  public static String qemuIo(Path image, String format, String... commands) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", format));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add(image.toString());
    String out = ok(cmd.toArray(String[]::new));
    if (out.contains("failed") || out.contains("error")) {
      throw new AssertionError("qemu-io " + String.join(" ; ", commands) + " on " + image + ": " + out);
    }
    return out;
  }

  /** Returns qemu-io's {@code -c} arguments for writing each pattern: offset, length, byte. */
  public static List<String> qemuIoWrites(long[][] patterns) {
    List<String> args = new ArrayList<>();
    for (long[] p : patterns) {
      args.add("-c");
      args.add("write -P 0x" + Long.toHexString(p[2]) + " " + p[0] + " " + p[1]);
    }
    return args;
  }

  /** Returns qemu-img's raw reading of {@code image}. */
  public static byte[] rawContent(Path image, String format, Path scratch) throws IOException, InterruptedException {
    Path raw = scratch.resolve(image.getFileName() + ".qemu.raw");
    Files.deleteIfExists(raw);
    ok("qemu-img", "convert", "-f", format, "-O", "raw", image.toString(), raw.toString());
    byte[] b = Files.readAllBytes(raw);
    Files.delete(raw);
    return b;
  }

  /** Asserts that qemu-img check finds nothing wrong with {@code image}. */
  public static void assertCheckClean(Path image, String format) throws IOException, InterruptedException {
    Run r = run("qemu-img", "check", "-f", format, image.toString());
    if (r.exitCode() != 0 || !r.stdout().contains("No errors were found")) {
      throw new AssertionError("qemu-img check " + image + " exited " + r.exitCode() + ": " + r.stdout() + r.stderr());
    }
  }
}
