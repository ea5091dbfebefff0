package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a child JVM running pool and VM snapshot workflows with SIGKILL, over and over on the same
 * datastore. After each kill, opening the inventory finishes or undoes the interrupted operation:
 * nothing is left pending, every volume belongs to the inventory, the datastore check is clean,
 * the desktops' system disks hold their base's content and persistent disks are intact.
 * {@code -Dvstore.killIterations=N} sets the number of kills (default 8, 3 under CI).
 */
@Tag("slow")
final class EngineKillNineTest {
  private static final int SIZE = 256 << 10;
  private static final int DESKTOPS = 3;
  @TempDir Path tmp;

  private static byte[] pattern(int seed) {
    byte[] b = new byte[SIZE];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Returns the number of kills: {@code -Dvstore.killIterations} when set, else 8 (3 under CI). */
  private static int iterations() {
    String set = System.getProperty("vstore.killIterations", "").strip();
    if (set.isEmpty()) {
      return "true".equals(System.getenv("CI")) ? 3 : 8;
    }
    int n;
    try {
      n = Integer.parseInt(set);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("-Dvstore.killIterations=" + set + " is not a number of iterations", e);
    }
    if (n <= 0) {
      throw new IllegalArgumentException("-Dvstore.killIterations=" + set + " must be positive");
    }
    return n;
  }

  @Test
  void sigkillDuringWorkflowsLeavesAConsistentInventory() throws Exception {
    Path dir = tmp.resolve("ds");
    byte[] s0 = pattern(1);
    byte[] s1 = pattern(2);
    try (Fixture f = new Fixture(dir)) {
      f.vms().create("gold", List.of((long) SIZE), null);
      f.write("gold-disk0", 0, s0);
      f.vms().snapshot("gold", "s0", "");
      f.write("gold-disk0", 0, s1);
      f.vms().snapshot("gold", "s1", "");
      f.pools().create("p", "gold", "s0", DESKTOPS, SIZE, SIZE);
      for (int n = 1; n <= DESKTOPS; n++) {
        f.write("p-" + n + "-persistent", 0, pattern(100 + n));
      }
    }
    Random timing = new Random(42);
    int iterations = iterations();
    System.out.println("kill -9 loop: " + iterations + " iterations");
    int completed = 0;
    for (int k = 0; k < iterations; k++) {
      int finished = runAndKill(dir, "k" + k + "-", 300 + timing.nextInt(2500));
      System.out.println("kill " + k + ": the workload finished " + finished + " operations before it");
      completed += finished;
      try (Fixture f = Fixture.reopen(dir)) {
        String where = "after kill " + k;
        assertThat(f.inventory.problems()).as(where).isEmpty();
        DesktopPool p = f.pools().get("p");
        assertThat(p.pending()).as(where).isNull();
        assertThat(f.vms().get("gold").pending()).as(where).isNull();
        byte[] base = p.base().equals("gold@s0") ? s0 : s1;
        assertThat(p.base()).as(where).isIn("gold@s0", "gold@s1");
        for (int n = 1; n <= DESKTOPS; n++) {
          assertThat(Arrays.equals(f.read("p-" + n + "-disk0", 0, SIZE), base)).as(where + ": system disk " + n)
              .isTrue();
          assertThat(Arrays.equals(f.read("p-" + n + "-persistent", 0, SIZE), pattern(100 + n)))
              .as(where + ": persistent disk " + n).isTrue();
          assertThat(Arrays.equals(f.read("p-" + n + "-disposable", 0, SIZE), new byte[SIZE]))
              .as(where + ": disposable disk " + n).isTrue();
        }
        assertThat(f.vms().get("gold").snapshot("s0")).isNotNull();
        assertThat(f.vms().get("gold").snapshot("s1")).isNotNull();
      }
    }
    assertThat(completed).as("operations completed across all runs").isPositive();
  }

  /** Runs the workload, kills it after {@code millis} of work, and returns how many operations it finished. */
  private static int runAndKill(Path dir, String prefix, long millis) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        "--enable-native-access=ALL-UNNAMED", EngineKillWorkload.class.getName(), dir.toString(), prefix)
        .redirectErrorStream(true).start();
    StringBuilder output = new StringBuilder();
    int[] done = {0};
    Thread reader = Thread.ofVirtual().start(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          synchronized (output) {
            output.append(line).append('\n');
            if (line.startsWith("done ")) {
              done[0]++;
            }
            output.notifyAll();
          }
        }
      } catch (IOException e) {
        // The child died; what it printed is in output.
      }
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    synchronized (output) {
      while (output.indexOf("ready") < 0 && p.isAlive() && System.nanoTime() < deadline) {
        output.wait(100);
      }
    }
    if (!p.isAlive() || output.indexOf("ready") < 0) {
      p.destroyForcibly().waitFor();
      throw new AssertionError("workload did not start: " + output);
    }
    Thread.sleep(millis);
    new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      throw new AssertionError("workload survived kill -9");
    }
    reader.join();
    synchronized (output) {
      if (output.indexOf("Exception") >= 0) {
        throw new AssertionError("workload failed before the kill: " + output);
      }
      return done[0];
    }
  }
}
