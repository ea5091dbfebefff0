package io.vstore.vdisk;

import java.io.IOException;

/** Thrown when a file is not of a known format, or uses a version or feature vstore lacks. */
public final class UnsupportedFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public UnsupportedFormatException(String message) {
    super(message);
  }

  /** Describes a version outside the supported range: {@code "unsupported vmdk: version 4 (supported 1..3)"}. */
  public UnsupportedFormatException(String what, long version, long min, long max) {
    super("unsupported " + what + ": version " + version + " (supported " + min + ".." + max + ")");
  }
}
