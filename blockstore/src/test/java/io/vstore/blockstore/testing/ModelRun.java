package io.vstore.blockstore.testing;

import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * One run of a seeded-random model test (H2's TestRandomMapOps): a {@link Random} from one seed,
 * and the step being run, so that a failure names the seed, the step and its operation, and can
 * be replayed alone with {@code -Dvstore.seed=S}. {@code -Dvstore.cases=N} runs N seeds instead
 * of a test's default count.
 */
public final class ModelRun {
  /** The system property that replays just one seed. */
  public static final String SEED_PROPERTY = "vstore.seed";

  /** The system property that sets how many seeds each model test runs. */
  public static final String CASES_PROPERTY = "vstore.cases";

  private final long seed;
  private final Random random;
  private String context = "";
  private int step = -1;
  private String op = "setup";

  private ModelRun(long seed) {
    this.seed = seed;
    this.random = new Random(seed);
  }

  /** The body of one run, given the run for its random numbers and to record its steps. */
  @FunctionalInterface
  public interface Body {
    /** Runs the model test for {@code run}'s seed. */
    void accept(ModelRun run) throws Exception;
  }

  /**
   * Returns the seeds a model test runs: only {@code vstore.seed} when it is set, else the first N
   * of a fixed sequence, where N is {@code vstore.cases} when set, else {@code defaultCases}.
   */
  public static LongStream seeds(int defaultCases) {
    return seeds(defaultCases, System.getProperty(SEED_PROPERTY), System.getProperty(CASES_PROPERTY));
  }

  /** Returns the seeds for the given property values (null or blank when unset). */
  static LongStream seeds(int defaultCases, String seed, String cases) {
    if (defaultCases < 1) {
      throw new IllegalArgumentException("defaultCases must be positive: " + defaultCases);
    }
    if (seed != null && !seed.isBlank()) {
      try {
        return LongStream.of(Long.parseLong(seed.strip()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(SEED_PROPERTY + " must be a long: " + seed, e);
      }
    }
    int n = defaultCases;
    if (cases != null && !cases.isBlank()) {
      try {
        n = Integer.parseInt(cases.strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(CASES_PROPERTY + " must be an int: " + cases, e);
      }
      if (n < 1) {
        throw new IllegalArgumentException(CASES_PROPERTY + " must be positive: " + cases);
      }
    }
    // Spread-out seeds, not 0, 1, 2...: the first draws of java.util.Random from nearby seeds
    // are nearly equal (seeds 0 to 11 all draw the same nextInt(4) first).
    return new SplittableRandom(0).ints(n, 0, Integer.MAX_VALUE).asLongStream();
  }

  /**
   * Runs {@code body} with a run seeded by {@code seed}; any failure is rethrown as an
   * AssertionError naming the seed, the step and operation it happened in, and how to replay it.
   */
  public static void run(long seed, Body body) {
    ModelRun run = new ModelRun(seed);
    try {
      body.accept(run);
    } catch (Throwable t) {
      if (t instanceof VirtualMachineError e) {
        throw e;
      }
      if (t instanceof org.opentest4j.TestAbortedException e) {
        throw e; // a skipped case is not a failure to replay
      }
      throw new AssertionError(run.where() + " (replay with -D" + SEED_PROPERTY + "=" + seed + "): " + t, t);
    }
  }

  /** Returns the random numbers of this run. */
  public Random random() {
    return random;
  }

  /** Returns the seed of this run. */
  public long seed() {
    return seed;
  }

  /** Sets what a failure message says about the whole run, such as parameters drawn at setup. */
  public void context(String context) {
    this.context = context;
  }

  /** Records that step {@code step} (from 0) is doing {@code op}; a failure from now on is reported against it. */
  public void step(int step, String op) {
    if (step < 0) {
      throw new IllegalArgumentException("step must not be negative: " + step);
    }
    this.step = step;
    this.op = op;
  }

  /** Records that the steps are over and the run is doing {@code what}, such as its final checks. */
  public void finish(String what) {
    this.op = what + (step < 0 ? "" : " after step " + step);
    this.step = -1;
  }

  /** Returns where the run is: "seed S, step K: op", with the context if there is one. */
  String where() {
    String s = "seed " + seed + (context.isEmpty() ? "" : " (" + context + ")");
    return step < 0 ? s + ", " + op : s + ", step " + step + ": " + op;
  }
}
