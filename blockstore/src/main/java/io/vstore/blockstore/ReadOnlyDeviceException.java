package io.vstore.blockstore;

import java.io.IOException;

/** Thrown when a write, zeroing or discard reaches a read-only device. */
public final class ReadOnlyDeviceException extends IOException {
  private static final long serialVersionUID = 1L;

  public ReadOnlyDeviceException(BlockDevice device) {
    super(device + " is read-only");
  }

  public ReadOnlyDeviceException(String message) {
    super(message);
  }
}
