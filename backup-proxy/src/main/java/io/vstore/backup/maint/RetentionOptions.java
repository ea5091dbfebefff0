package io.vstore.backup.maint;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The retention options of a prune, as {@code vstore backup prune} takes them. A count of 0 means
 * the option is not used. {@code keepWithin} (null when not given) keeps every point whose time is
 * within that duration of the newest point of its source.
 */
public record RetentionOptions(int keepLast, int keepHourly, int keepDaily, int keepWeekly,
    int keepMonthly, int keepYearly, Duration keepWithin) {

  /** Options that keep everything (no option given). */
  public static final RetentionOptions KEEP_ALL = new RetentionOptions(0, 0, 0, 0, 0, 0, null);

  public RetentionOptions {
    check("keep-last", keepLast);
    check("keep-hourly", keepHourly);
    check("keep-daily", keepDaily);
    check("keep-weekly", keepWeekly);
    check("keep-monthly", keepMonthly);
    check("keep-yearly", keepYearly);
    if (keepWithin != null && (keepWithin.isNegative() || keepWithin.isZero())) {
      throw new IllegalArgumentException("bad keep-within: " + keepWithin + " (must be positive)");
    }
  }

  /**
   * Returns whether any option keeps something. Like PBS, a prune without one keeps every point
   * rather than removing every point: removing all is never what an empty option list means.
   */
  public boolean keepsSomething() {
    return keepLast > 0 || keepHourly > 0 || keepDaily > 0 || keepWeekly > 0 || keepMonthly > 0
        || keepYearly > 0 || keepWithin != null;
  }

  /** Returns the options as command-line flags, for messages and job descriptions. */
  @Override
  public String toString() {
    List<String> flags = new ArrayList<>();
    add(flags, "--keep-last", keepLast);
    add(flags, "--keep-hourly", keepHourly);
    add(flags, "--keep-daily", keepDaily);
    add(flags, "--keep-weekly", keepWeekly);
    add(flags, "--keep-monthly", keepMonthly);
    add(flags, "--keep-yearly", keepYearly);
    if (keepWithin != null) {
      flags.add("--keep-within " + Durations.format(keepWithin));
    }
    return flags.isEmpty() ? "(keep all)" : String.join(" ", flags);
  }

  private static void add(List<String> flags, String name, int count) {
    if (count > 0) {
      flags.add(name + " " + count);
    }
  }

  private static void check(String name, int count) {
    if (count < 0) {
      throw new IllegalArgumentException("bad " + name + ": " + count + " (must be 0 or more)");
    }
  }
}
