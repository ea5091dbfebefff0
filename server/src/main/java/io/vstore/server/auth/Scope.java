package io.vstore.server.auth;

import java.util.Locale;

/** What a token may do: each scope includes the ones before it. */
public enum Scope {
  /** List, show, watch: nothing changes. */
  READ,
  /** Create, change and delete volumes, snapshots, clones, exports, jobs. */
  WRITE,
  /** Manage tokens and run commands that read or write the daemon host's files. */
  ADMIN;

  /** Returns whether a holder of this scope may do what {@code needed} allows. */
  public boolean allows(Scope needed) {
    return compareTo(needed) >= 0;
  }

  /** Returns the lower-case name used in the API and on the command line. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code read}, {@code write} or {@code admin}. */
  public static Scope parse(String s) {
    for (Scope scope : values()) {
      if (scope.label().equals(s)) {
        return scope;
      }
    }
    throw new IllegalArgumentException("unknown scope '" + s + "' (expected read, write or admin)");
  }
}
