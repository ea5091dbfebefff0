package io.vstore.backup.repo;

import java.io.IOException;

/** No point has the id asked for, or a prefix matches none or several; the message says which. */
public final class NoSuchPointException extends IOException {
  private static final long serialVersionUID = 1L;

  public NoSuchPointException(String message) {
    super(message);
  }
}
