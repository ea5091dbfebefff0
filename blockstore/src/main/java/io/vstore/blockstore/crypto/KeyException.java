package io.vstore.blockstore.crypto;

import java.io.IOException;

/** A key problem a user can fix: no key given for an encrypted datastore, a wrong passphrase or key file, a bad slot operation. */
public final class KeyException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with its one-line message. */
  public KeyException(String message) {
    super(message);
  }
}
