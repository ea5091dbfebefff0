package io.vstore.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The training run of the build's ahead-of-time cache (JDK 25's AOT cache: classes loaded and
 * linked once, at package time, instead of on every command): runs the commands people run most
 * on a scratch datastore, so that the cache holds the classes they load. Not a user command.
 */
final class Training {
  private Training() {}

  /** Runs the training commands in a scratch directory under {@code args[0]}, deleted afterwards. */
  public static void main(String[] args) throws IOException {
    Path base = Files.createDirectories(Path.of(args.length > 0 ? args[0] : System.getProperty("java.io.tmpdir")));
    Path dir = Files.createTempDirectory(base, "vstore-training");
    String ds = dir.resolve("ds").toString();
    List<List<String>> commands = List.of(
        List.of("--help"), List.of("volume", "create", "--help"), List.of("volume", "create", "-D", ds, "x", "-1"),
        List.of("datastore", "init", "-D", ds, "--capacity", "1G"),
        List.of("volume", "create", "-D", ds, "vm1", "16M"), List.of("volume", "create", "-D", ds, "vm2", "16M"),
        List.of("volume", "list", "-D", ds), List.of("volume", "list", "-D", ds, "--json"),
        List.of("volume", "info", "-D", ds, "vm1"), List.of("snapshot", "create", "-D", ds, "vm1@s1"),
        List.of("snapshot", "list", "-D", ds), List.of("datastore", "info", "-D", ds, "--json"),
        List.of("vm", "list", "-D", ds), List.of("volume", "delete", "-D", ds, "-r", "vm1"));
    try {
      for (List<String> c : commands) {
        run(c);
      }
      ovfRoundTrip(dir, ds);
      withDaemon(dir, Path.of(ds));
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static int run(List<String> command) {
    return Vstore.run(command.toArray(String[]::new), new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
  }

  /**
   * Exports a VM whose disk holds some data as an OVA with a manifest and imports it back, so that
   * the cache holds the OVF and OVA classes, the descriptor's XML parsing, the streamOptimized
   * grain path and the manifest digest's libcrypto linkage. These commands must succeed: a cache
   * made from a failed run would lack what it is for, so a failure fails the build.
   */
  private static void ovfRoundTrip(Path dir, String ds) throws IOException {
    // 2 MiB of data: random bytes (stored deflated but incompressible), text (compressible) and a
    // hole of zeros, the three kinds of grain an import meets. A fixed seed: the same work every build.
    byte[] data = new byte[2 << 20];
    Random random = new Random(16);
    for (int i = 0; i < 512 << 10; i++) {
      data[i] = (byte) random.nextInt();
    }
    byte[] text = "vstore training: the quick brown fox jumps over the lazy dog\n".getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < 1 << 20; i++) {
      data[(1 << 20) + i] = text[i % text.length];
    }
    Path image = Files.write(dir.resolve("disk.raw"), data);
    String ova = dir.resolve("training.ova").toString();
    for (List<String> c : List.of(List.of("vm", "create", "-D", ds, "ovf1", "--disk", "4M"),
        List.of("volume", "write", "-D", ds, "ovf1-disk0", "0", image.toString()),
        List.of("ovf", "export", "-D", ds, "ovf1", "--to", ova), List.of("ovf", "probe", ova, "--json"),
        List.of("ovf", "import", "-D", ds, ova, "--name", "ovf2"))) {
      int status = run(c);
      if (status != 0) {
        throw new IllegalStateException("vstore training: '" + String.join(" ", c) + "' failed with status " + status);
      }
    }
  }

  /**
   * Runs short commands through a daemon, so that the cache also holds the classes of
   * {@link Forwarder}'s path, and an offline check-out and check-in over its HTTPS listener
   * ({@link CheckoutTraining}). The daemon runs in a process of its own: its classes are not the
   * client's, and would only make every start-up load more.
   */
  private static void withDaemon(Path dir, Path ds) throws IOException {
    String javaBin = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString());
    CheckoutTraining checkout = CheckoutTraining.prepare(dir);
    List<String> command = new java.util.ArrayList<>(List.of(javaBin, "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"), Vstore.class.getName(),
        "serve", "-D", ds.toString(), "--nbd-listen", "127.0.0.1:0"));
    if (checkout != null) {
      command.addAll(checkout.daemonOptions());
    }
    Process daemon = new ProcessBuilder(command)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      Path socket = ds.resolve(io.vstore.cli.client.DaemonClient.SOCKET);
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (!Files.exists(socket) && daemon.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      if (!Files.exists(socket)) {
        // A cache without this path is still a good one: say so and go on.
        System.err.println("vstore training: the daemon did not start (exit " + (daemon.isAlive() ? "none" :
            daemon.exitValue()) + "); the AOT cache lacks the forwarding path");
        return;
      }
      for (List<String> c : List.of(List.of("volume", "list", "-D", ds.toString()),
          List.of("volume", "info", "-D", ds.toString(), "vm2", "--json"), List.of("datastore", "info", "-D", ds.toString()),
          List.of("snapshot", "list", "-D", ds.toString()), List.of("volume", "info", "-D", ds.toString(), "nothere"))) {
        run(c);
      }
      if (checkout != null) {
        checkout.run(ds, dir.resolve("disk.raw"));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      daemon.destroy(); // SIGTERM: the daemon stops cleanly and releases the datastore
      try {
        if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
          daemon.destroyForcibly().waitFor();
        }
      } catch (InterruptedException e) {
        daemon.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
