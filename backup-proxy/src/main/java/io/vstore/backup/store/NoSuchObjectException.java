package io.vstore.backup.store;

import java.io.IOException;

/** The object asked for does not exist in the store; the message names the store and the key. */
public final class NoSuchObjectException extends IOException {
  private static final long serialVersionUID = 1L;

  public NoSuchObjectException(String message) {
    super(message);
  }
}
