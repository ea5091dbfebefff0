package io.vstore.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parses and prints human sizes: {@code 10G}, {@code 512K}, {@code 4096} (binary units). */
public final class Sizes implements ITypeConverter<Long> {
  private static final String UNITS = "KMGTPE";

  @Override
  public Long convert(String value) {
    return parse(value);
  }

  /** Parses {@code value}: digits with an optional K/M/G/T/P/E suffix (optionally followed by iB or B). */
  public static long parse(String value) {
    String s = value.trim().toUpperCase(Locale.ROOT);
    if (s.startsWith("-") && s.length() > 1) {
      throw new TypeConversionException("size '" + value + "' is negative");
    }
    if (s.endsWith("IB")) {
      s = s.substring(0, s.length() - 2);
    } else if (s.endsWith("B")) {
      s = s.substring(0, s.length() - 1);
    }
    int shift = 0;
    if (!s.isEmpty()) {
      int unit = UNITS.indexOf(s.charAt(s.length() - 1));
      if (unit >= 0) {
        shift = 10 * (unit + 1);
        s = s.substring(0, s.length() - 1);
      }
    }
    if (s.isEmpty() || !s.chars().allMatch(Character::isDigit) || s.length() > 19) {
      throw new TypeConversionException("'" + value + "' is not a size (examples: 4096, 512K, 10G)");
    }
    long n = Long.parseLong(s);
    if (n > (Long.MAX_VALUE >> shift)) {
      throw new TypeConversionException("'" + value + "' is too large");
    }
    return n << shift;
  }

  /** Formats {@code bytes} with one decimal in the largest binary unit that fits: {@code 1.5 GiB}. */
  public static String format(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    int unit = (63 - Long.numberOfLeadingZeros(bytes)) / 10;
    double v = bytes / (double) (1L << (10 * unit));
    return String.format(Locale.ROOT, "%.1f %siB", v, UNITS.charAt(unit - 1));
  }
}
