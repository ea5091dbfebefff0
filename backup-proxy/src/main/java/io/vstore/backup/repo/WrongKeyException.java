package io.vstore.backup.repo;

import java.io.IOException;

/** The passphrase or key file opens none of the repository's keys. */
public final class WrongKeyException extends IOException {
  private static final long serialVersionUID = 1L;

  public WrongKeyException(String message) {
    super(message);
  }
}
