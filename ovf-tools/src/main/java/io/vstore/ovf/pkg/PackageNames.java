package io.vstore.ovf.pkg;

import java.util.Locale;

/** Checks the names of files inside a package: hrefs, tar member names, manifest entries. */
final class PackageNames {
  /** Longest name accepted; tar and real packages stay far below. */
  static final int MAX_NAME = 1024;

  private PackageNames() {}

  /**
   * Returns {@code name} with a leading {@code ./} removed, or throws when it is not a plain relative
   * path inside the package: empty, absolute, a URL, with {@code ..}, a backslash, a NUL or a control character.
   *
   * @param what names the name's origin for the message ("href", "member", "manifest entry")
   */
  static String check(String pkg, String what, String name) throws PackageException {
    String n = name.startsWith("./") ? name.substring(2) : name;
    String problem = null;
    if (n.isEmpty()) {
      problem = "is empty";
    } else if (n.length() > MAX_NAME) {
      problem = "is longer than " + MAX_NAME + " characters";
    } else if (n.startsWith("/") || n.matches("^[A-Za-z]:.*")) {
      problem = "is an absolute path";
    } else if (n.toLowerCase(Locale.ROOT).matches("^[a-z][a-z0-9+.-]*://.*")) {
      problem = "is a URL, not a file in the package";
    } else if (n.indexOf('\\') >= 0) {
      problem = "contains a backslash";
    } else if (n.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      problem = "contains a control character";
    } else {
      for (String part : n.split("/", -1)) {
        if (part.equals("..")) {
          problem = "leaves the package (..)";
          break;
        }
        if (part.isEmpty() || part.equals(".")) {
          problem = "has an empty or '.' path element";
          break;
        }
      }
    }
    if (problem != null) {
      throw new PackageException("bad ova: " + pkg + ": " + what + " '" + printable(name) + "' " + problem);
    }
    return n;
  }

  /** Returns {@code s} with control characters shown as '?' and cut to 200 characters, for messages. */
  static String printable(String s) {
    String p = s.replaceAll("\\p{Cntrl}", "?");
    return p.length() > 200 ? p.substring(0, 200) + "…" : p;
  }

  /** Returns whether {@code name} is a descriptor (by extension, as ovftool decides). */
  static boolean isDescriptor(String name) {
    return name.toLowerCase(Locale.ROOT).endsWith(".ovf");
  }

  /** Returns whether {@code name} is a manifest. */
  static boolean isManifest(String name) {
    return name.toLowerCase(Locale.ROOT).endsWith(".mf");
  }

  /** Returns whether {@code name} is a certificate. */
  static boolean isCertificate(String name) {
    return name.toLowerCase(Locale.ROOT).endsWith(".cert");
  }
}
