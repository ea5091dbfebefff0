package io.vstore.cli.client;

import java.io.IOException;

/** The daemon refused a request: its HTTP status and the one-line message of its problem document. */
public final class DaemonException extends IOException {
  private final int status;

  /** Creates the exception for {@code status} with the daemon's {@code message}. */
  public DaemonException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** Returns the HTTP status. */
  public int status() {
    return status;
  }
}
