package io.vstore.server.http;

/** A request that fails with an HTTP status and a one-line message (sent as problem+json). */
public final class ApiException extends RuntimeException {
  private final int status;

  /** Creates the exception with {@code status} and a message naming what was wrong. */
  public ApiException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** Returns the HTTP status. */
  public int status() {
    return status;
  }

  /** A 404 naming what was not found. */
  public static ApiException notFound(String message) {
    return new ApiException(404, message);
  }

  /** A 400 naming what was wrong with the request. */
  public static ApiException badRequest(String message) {
    return new ApiException(400, message);
  }
}
