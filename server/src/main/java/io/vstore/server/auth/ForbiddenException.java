package io.vstore.server.auth;

/** A request the caller is authenticated for but whose scope does not allow it (HTTP 403). */
public final class ForbiddenException extends RuntimeException {
  /** Creates the exception with a one-line message naming what was refused. */
  public ForbiddenException(String message) {
    super(message);
  }
}
