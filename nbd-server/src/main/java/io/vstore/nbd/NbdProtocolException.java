package io.vstore.nbd;

import java.io.IOException;

/** Thrown when a client breaks the protocol so badly that its connection must be dropped. */
final class NbdProtocolException extends IOException {
  private static final long serialVersionUID = 1L;

  NbdProtocolException(String message) {
    super(message);
  }
}
