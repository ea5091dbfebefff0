package io.vstore.blockstore;

import java.util.regex.Pattern;

/**
 * A reference to a volume head ({@code VOLUME}) or one of its snapshots ({@code VOLUME@SNAP}), as
 * ZFS and RBD write them; the same rule names VMs and their snapshots ({@code VM@SNAP}).
 *
 * @param volume the volume (or VM) name
 * @param snapshot the snapshot name, or {@code null} for the head
 */
public record SnapshotRef(String volume, String snapshot) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  /** Creates a reference, checking both names. */
  public SnapshotRef {
    checkName("volume", volume);
    if (snapshot != null) {
      checkName("snapshot", snapshot);
    }
  }

  /** Parses {@code VOLUME} or {@code VOLUME@SNAP}. */
  public static SnapshotRef parse(String spec) {
    if (spec == null) {
      throw new IllegalArgumentException("missing volume name");
    }
    int at = spec.indexOf('@');
    if (at < 0) {
      return new SnapshotRef(spec, null);
    }
    if (at == 0 || at == spec.length() - 1 || spec.indexOf('@', at + 1) >= 0) {
      throw new IllegalArgumentException("'" + spec + "' is not VOLUME or VOLUME@SNAPSHOT");
    }
    return new SnapshotRef(spec.substring(0, at), spec.substring(at + 1));
  }

  /** Parses {@code VOLUME@SNAP}, refusing a plain volume name; {@code kind} names the left side (volume, VM). */
  public static SnapshotRef parseSnapshot(String spec, String kind) {
    int at = spec == null ? -1 : spec.indexOf('@');
    if (at <= 0 || at == spec.length() - 1 || spec.indexOf('@', at + 1) >= 0) {
      String left = kind.toUpperCase(java.util.Locale.ROOT);
      throw new IllegalArgumentException("'" + spec + "' is not a snapshot: expected " + left + "@SNAPSHOT");
    }
    checkName(kind, spec.substring(0, at)); // "bad VM name", not "bad volume name", when a VM is meant
    return new SnapshotRef(spec.substring(0, at), spec.substring(at + 1));
  }

  /** Returns whether this names a snapshot rather than a head. */
  public boolean isSnapshot() {
    return snapshot != null;
  }

  /** Throws naming {@code kind} unless {@code name} is 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit. */
  public static void checkName(String kind, String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("bad " + kind + " name '" + name
          + "': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
  }

  /** Returns {@code VOLUME} or {@code VOLUME@SNAP}. */
  @Override
  public String toString() {
    return snapshot == null ? volume : volume + "@" + snapshot;
  }
}
