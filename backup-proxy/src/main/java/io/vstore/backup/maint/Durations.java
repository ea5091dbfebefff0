package io.vstore.backup.maint;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses and prints the durations of {@code --keep-within}: {@code 36h}, {@code 7d}, {@code 1y2m3d4h}. */
public final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d{1,6})(min|[ymwdhs])");

  private Durations() {}

  /**
   * Parses a sequence of number+unit parts: {@code y} (365 days), {@code m} (30 days, as restic's
   * keep-within counts a month), {@code w}, {@code d}, {@code h}, {@code min}, {@code s}.
   *
   * @throws IllegalArgumentException naming the text when it is not such a sequence or is zero
   */
  public static Duration parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("bad duration: empty (expected e.g. 36h, 7d, 1y2m)");
    }
    Matcher m = PART.matcher(text.strip());
    Duration total = Duration.ZERO;
    int end = 0;
    while (m.find()) {
      if (m.start() != end) {
        break;
      }
      long n = Long.parseLong(m.group(1));
      total = total.plus(switch (m.group(2)) {
        case "y" -> Duration.ofDays(365 * n);
        case "m" -> Duration.ofDays(30 * n);
        case "w" -> Duration.ofDays(7 * n);
        case "d" -> Duration.ofDays(n);
        case "h" -> Duration.ofHours(n);
        case "min" -> Duration.ofMinutes(n);
        default -> Duration.ofSeconds(n);
      });
      end = m.end();
    }
    if (end != text.strip().length() || total.isZero()) {
      throw new IllegalArgumentException("bad duration: '" + text
          + "' (expected number+unit parts, units y m w d h min s, e.g. 36h, 7d, 1y2m)");
    }
    return total;
  }

  /** Formats a duration in the largest whole units ({@code 7d}, {@code 36h}, {@code 90min}, {@code 5s}). */
  public static String format(Duration d) {
    long s = d.toSeconds();
    if (s % 86_400 == 0) {
      return s / 86_400 + "d";
    }
    if (s % 3_600 == 0) {
      return s / 3_600 + "h";
    }
    if (s % 60 == 0) {
      return s / 60 + "min";
    }
    return s + "s";
  }
}
