package io.vstore.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
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
        Vstore.run(c.toArray(String[]::new), new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
      }
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
