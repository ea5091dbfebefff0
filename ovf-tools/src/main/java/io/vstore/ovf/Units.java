package io.vstore.ovf;

import java.math.BigInteger;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Converts quantities written with DMTF programmatic units (DSP0004 annex C) to bytes, exactly:
 * {@code byte}, {@code byte * 2^30}, {@code byte*2^20}, {@code byte * 2 ^ 20}, {@code byte * 10^9},
 * {@code byte * 1024}, and the names producers use instead ({@code MegaBytes}, {@code KB},
 * {@code GiB}...). Binary prefixes for the names, as VirtualBox and VMware mean them.
 */
final class Units {
  private static final Pattern POWER = Pattern.compile("(\\d+)\\s*\\^\\s*(-?\\d+)");
  private static final Pattern NUMBER = Pattern.compile("\\d+");
  private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

  private Units() {}

  /**
   * Returns how many bytes one unit of {@code units} is; {@code null} or blank means plain bytes.
   *
   * @throws OvfException naming {@code what} when the unit is not a byte unit or is malformed
   */
  static long bytesPerUnit(String units, String what) throws OvfException {
    if (units == null || units.isBlank()) {
      return 1;
    }
    String[] factors = units.strip().split("\\*");
    BigInteger result = base(factors[0].strip(), units, what);
    for (int i = 1; i < factors.length; i++) {
      String f = factors[i].strip();
      Matcher pow = POWER.matcher(f);
      if (pow.matches()) {
        int exp = Integer.parseInt(pow.group(2));
        if (exp < 0 || exp > 80) {
          throw OvfException.bad(what + ": unit \"" + units + "\" has an exponent out of range");
        }
        result = result.multiply(new BigInteger(pow.group(1)).pow(exp));
      } else if (NUMBER.matcher(f).matches() && f.length() < 20) {
        result = result.multiply(new BigInteger(f));
      } else {
        throw OvfException.bad(what + ": cannot read unit \"" + units + "\"");
      }
      if (result.compareTo(LONG_MAX) > 0) {
        throw OvfException.bad(what + ": unit \"" + units + "\" is too large");
      }
    }
    if (result.signum() <= 0) {
      throw OvfException.bad(what + ": unit \"" + units + "\" is zero");
    }
    return result.longValueExact();
  }

  private static BigInteger base(String name, String units, String what) throws OvfException {
    long v = switch (name.toLowerCase(Locale.ROOT)) {
      case "byte", "bytes", "b" -> 1L;
      case "kilobyte", "kilobytes", "kb", "kib" -> 1L << 10;
      case "megabyte", "megabytes", "mb", "mib" -> 1L << 20;
      case "gigabyte", "gigabytes", "gb", "gib" -> 1L << 30;
      case "terabyte", "terabytes", "tb", "tib" -> 1L << 40;
      default -> -1L;
    };
    if (v < 0) {
      throw OvfException.bad(what + ": unit \"" + units + "\" is not a unit of bytes");
    }
    return BigInteger.valueOf(v);
  }

  /** Returns {@code quantity * bytesPerUnit(units)}, refusing overflow. */
  static long bytes(long quantity, String units, String what) throws OvfException {
    if (quantity < 0) {
      throw OvfException.bad(what + ": negative quantity " + quantity);
    }
    long unit = bytesPerUnit(units, what);
    try {
      return Math.multiplyExact(quantity, unit);
    } catch (ArithmeticException e) {
      throw OvfException.bad(what + ": " + quantity + " × \"" + units + "\" overflows 64 bits");
    }
  }

  /** Parses a non-negative decimal number (a {@code xs:unsignedLong} attribute), naming {@code what}. */
  static long parseCount(String text, String what) throws OvfException {
    String t = text.strip();
    if (t.isEmpty() || t.length() > 19 || !NUMBER.matcher(t).matches()) {
      throw OvfException.bad(what + ": \"" + text + "\" is not a non-negative number");
    }
    try {
      return Long.parseLong(t);
    } catch (NumberFormatException e) {
      throw OvfException.bad(what + ": \"" + text + "\" is larger than 2^63-1");
    }
  }
}
