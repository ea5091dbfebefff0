package io.vstore.ovf;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a value given for a property ({@code --prop}) against its {@code ovf:type} (DSP0243's CIM
 * types: {@code uint8} ... {@code sint64}, {@code real32}/{@code real64}, {@code boolean},
 * {@code string}) and {@code ovf:qualifiers} ({@code MinLen}, {@code MaxLen}, {@code MinValue},
 * {@code MaxValue}, {@code ValueMap{"a","b"}}), as ovftool refuses a bad value before deploying.
 */
final class PropertyValues {
  private static final Pattern QUALIFIER = Pattern.compile("(MinLen|MaxLen|MinValue|MaxValue)\\s*\\(\\s*(-?[0-9.]+)\\s*\\)");
  private static final Pattern VALUE_MAP = Pattern.compile("ValueMap\\s*\\{([^}]*)\\}");
  private static final Pattern QUOTED = Pattern.compile("\"([^\"]*)\"");

  private PropertyValues() {}

  /** Refuses {@code value} for {@code p} with a message naming the property, the value and the rule. */
  static void check(OvfProperty p, String value) throws OvfException {
    String what = "--prop " + p.fullKey() + "=" + value;
    String type = p.type() == null ? "string" : p.type().strip().toLowerCase(Locale.ROOT);
    BigDecimal number = null;
    switch (type) {
      case "boolean" -> {
        if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
          throw OvfException.bad(what + ": a boolean is true or false");
        }
      }
      case "uint8", "uint16", "uint32", "uint64", "sint8", "sint16", "sint32", "sint64" -> {
        BigInteger v;
        try {
          v = new BigInteger(value.strip());
        } catch (NumberFormatException e) {
          throw OvfException.bad(what + ": not an integer (" + type + ")");
        }
        int bits = Integer.parseInt(type.substring(4));
        BigInteger min = type.startsWith("u") ? BigInteger.ZERO : BigInteger.ONE.shiftLeft(bits - 1).negate();
        BigInteger max = type.startsWith("u") ? BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE)
            : BigInteger.ONE.shiftLeft(bits - 1).subtract(BigInteger.ONE);
        if (v.compareTo(min) < 0 || v.compareTo(max) > 0) {
          throw OvfException.bad(what + ": out of range for " + type + " (" + min + " to " + max + ")");
        }
        number = new BigDecimal(v);
      }
      case "real32", "real64" -> {
        try {
          number = new BigDecimal(value.strip());
        } catch (NumberFormatException e) {
          throw OvfException.bad(what + ": not a number (" + type + ")");
        }
      }
      default -> {
        // string and producer-specific types (VMware's ip, ip:network): length and value-map rules only
      }
    }
    String q = p.qualifiers() == null ? "" : p.qualifiers();
    Matcher m = QUALIFIER.matcher(q);
    while (m.find()) {
      BigDecimal bound;
      try {
        bound = new BigDecimal(m.group(2));
      } catch (NumberFormatException e) {
        continue;
      }
      switch (m.group(1)) {
        case "MinLen" -> {
          if (value.length() < bound.intValue()) {
            throw OvfException.bad(what + ": shorter than MinLen(" + m.group(2) + ")");
          }
        }
        case "MaxLen" -> {
          if (value.length() > bound.intValue()) {
            throw OvfException.bad(what + ": longer than MaxLen(" + m.group(2) + ")");
          }
        }
        case "MinValue" -> {
          if (number != null && number.compareTo(bound) < 0) {
            throw OvfException.bad(what + ": below MinValue(" + m.group(2) + ")");
          }
        }
        default -> {
          if (number != null && number.compareTo(bound) > 0) {
            throw OvfException.bad(what + ": above MaxValue(" + m.group(2) + ")");
          }
        }
      }
    }
    Matcher vm = VALUE_MAP.matcher(q);
    if (vm.find()) {
      List<String> allowed = new ArrayList<>();
      Matcher quoted = QUOTED.matcher(vm.group(1));
      while (quoted.find()) {
        allowed.add(quoted.group(1));
      }
      if (!allowed.isEmpty() && !allowed.contains(value)) {
        throw OvfException.bad(what + ": not one of " + allowed);
      }
    }
  }
}
