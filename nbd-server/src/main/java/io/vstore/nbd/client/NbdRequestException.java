package io.vstore.nbd.client;

import java.io.IOException;

/** Thrown when an NBD server answers a request with an error; carries the server's error value. */
public final class NbdRequestException extends IOException {
  private static final long serialVersionUID = 1L;
  private final int error;

  NbdRequestException(String message, int error) {
    super(message);
    this.error = error;
  }

  /** Returns the NBD error value (errno numbering: 1 EPERM, 5 EIO, 28 ENOSPC, ...). */
  public int error() {
    return error;
  }
}
