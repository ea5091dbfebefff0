package io.vstore.offline;

import java.io.IOException;

/** Bad data in a transfer stream or an offline copy: a corrupt frame, a bad signature, a tampered state. */
public final class TransferException extends IOException {
  /** Creates the exception with its one-line message. */
  public TransferException(String message) {
    super(message);
  }
}
