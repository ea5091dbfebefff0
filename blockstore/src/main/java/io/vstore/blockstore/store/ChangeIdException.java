package io.vstore.blockstore.store;

import java.io.IOException;

/** Thrown when a change id cannot be answered exactly: wrong volume, unknown or too new a generation. */
public final class ChangeIdException extends IOException {
  private static final long serialVersionUID = 1L;

  public ChangeIdException(String message) {
    super(message);
  }
}
