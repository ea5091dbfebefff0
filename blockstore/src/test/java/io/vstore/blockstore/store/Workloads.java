package io.vstore.blockstore.store;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Test data with the shapes real disks hold: random, zeros, text, and mixes. */
final class Workloads {
  private Workloads() {}

  /** Returns {@code n} bytes of a randomly chosen kind. */
  static ByteBuffer data(Random r, int n) {
    byte[] b = new byte[n];
    switch (r.nextInt(4)) {
      case 0 -> r.nextBytes(b);
      case 1 -> { } // zeros
      case 2 -> {
        byte[] line = ("line " + r.nextInt(1000) + " of some compressible text\n").getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < n; i++) {
          b[i] = line[i % line.length];
        }
      }
      default -> {
        for (int i = 0; i < n; i += 4096) {
          if (r.nextBoolean()) {
            byte[] chunk = new byte[Math.min(4096, n - i)];
            r.nextBytes(chunk);
            System.arraycopy(chunk, 0, b, i, chunk.length);
          }
        }
      }
    }
    return ByteBuffer.wrap(b);
  }

    /** One run of a seeded crash test, in its own directory. */
  @FunctionalInterface
  interface SeededRun {
    /** Runs with {@code seed} in {@code dir}. */
    void run(long seed, java.nio.file.Path dir) throws java.io.IOException;
  }

  /**
   * Runs {@code run} {@code iterations} times, with seeds {@code firstSeed}, {@code firstSeed + 1}, ...
   * and directories {@code dirPrefix + i} under {@code tmp}; a failure names {@code what} and its seed.
   */
  static void eachSeed(String what, long firstSeed, int iterations, java.nio.file.Path tmp, String dirPrefix,
      SeededRun run) throws java.io.IOException {
    for (int i = 0; i < iterations; i++) {
      long seed = firstSeed + i;
      try {
        run.run(seed, tmp.resolve(dirPrefix + i));
      } catch (AssertionError | java.io.IOException | RuntimeException e) {
        throw new AssertionError(what + " run failed with seed " + seed + ": " + e.getMessage(), e);
      }
    }
  }

/** Returns how many iterations a randomized test runs: fewer under CI. */
  static int iterations(int local, int ci) {
    return "true".equals(System.getenv("CI")) ? ci : local;
  }

  /**
   * Returns how many iterations a randomized test runs: the system property {@code property} when
   * set (long runs on demand, e.g. {@code -Dvstore.killIterations=1000}), else as {@link #iterations(int, int)}.
   */
  static int iterations(String property, int local, int ci) {
    String set = System.getProperty(property, "").strip();
    if (set.isEmpty()) {
      return iterations(local, ci);
    }
    int n;
    try {
      n = Integer.parseInt(set);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("-D" + property + "=" + set + " is not a number of iterations", e);
    }
    if (n <= 0) {
      throw new IllegalArgumentException("-D" + property + "=" + set + " must be positive");
    }
    return n;
  }
}
