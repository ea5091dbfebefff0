package io.vstore.engine.replica;

import io.vstore.blockstore.ReadOnlyDeviceException;

/** Thrown when a write carries an epoch the pair has moved past: its secondary was promoted. */
final class FencedException extends java.io.IOException {
  private static final long serialVersionUID = 1L;

  FencedException(String message) {
    super(message);
  }

  /** Returns whether {@code e} (or its cause) says the writer was fenced. */
  static boolean isFencing(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof FencedException || (t instanceof ReadOnlyDeviceException && String.valueOf(t.getMessage()).contains("fenced"))) {
        return true;
      }
    }
    return false;
  }
}
