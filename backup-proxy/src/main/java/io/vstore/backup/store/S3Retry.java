package io.vstore.backup.store;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ThreadLocalRandom;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The bounded retry with backoff of {@link S3Store}'s requests, and how their failures become one
 * readable {@link IOException}. The SDK's own retries are off so that this one loop decides: a
 * conditional put must know whether an attempt may have written before it failed.
 */
final class S3Retry {
  private static final long FIRST_BACKOFF_MS = 100;
  private static final long MAX_BACKOFF_MS = 5_000;

  private final String location;
  private final int maxAttempts;

  S3Retry(String location, int maxAttempts) {
    this.location = location;
    this.maxAttempts = maxAttempts;
  }

  /** One S3 request; may throw the SDK's unchecked exceptions or an IOException of its own. */
  @FunctionalInterface
  interface Request<T> {
    T run() throws IOException;
  }

  /** Returns how many attempts a request gets. */
  int maxAttempts() {
    return maxAttempts;
  }

  /**
   * Runs an idempotent request, retrying failures that may pass; any other failure, or the last
   * one, becomes an IOException naming the action, the location and the key.
   */
  <T> T call(String action, String key, Request<T> request) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        return request.run();
      } catch (SdkException e) {
        if (!retryable(e) || attempt >= maxAttempts) {
          throw failure(action, key, e, attempt);
        }
      }
      backoff(attempt, action, key);
    }
  }

  /** Returns whether a failure may pass when the request is sent again. */
  static boolean retryable(SdkException e) {
    if (e instanceof S3Exception s3) {
      int status = s3.statusCode();
      String code = s3.awsErrorDetails() == null ? "" : s3.awsErrorDetails().errorCode();
      return status == 500 || status == 502 || status == 503 || status == 504 || status == 429
          || "SlowDown".equals(code) || "RequestTimeout".equals(code) || "InternalError".equals(code);
    }
    // Connection refused or reset, timeouts, a response cut short: the SDK's client-side errors.
    return e instanceof SdkClientException;
  }

  /** Sleeps before attempt {@code attempt + 1}: exponential from 100 ms, at most 5 s, full jitter. */
  void backoff(int attempt, String action, String key) throws IOException {
    long cap = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS << Math.min(attempt - 1, 10));
    try {
      Thread.sleep(ThreadLocalRandom.current().nextLong(cap / 2, cap + 1));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(location + ": interrupted while retrying to " + action + " " + key);
    }
  }

  /** Returns the IOException that reports {@code e}: location, action, key, what S3 said. */
  IOException failure(String action, String key, SdkException e, int attempts) {
    String what = describe(e);
    String tries = attempts > 1 ? " (after " + attempts + " attempts)" : "";
    return new IOException(location + ": cannot " + action + (key == null ? "" : " " + key) + ": " + what + tries, e);
  }

  /** Returns what went wrong in one short phrase: the S3 error code and HTTP status, or the I/O error. */
  static String describe(SdkException e) {
    if (e instanceof S3Exception s3) {
      String code = s3.awsErrorDetails() == null ? null : s3.awsErrorDetails().errorCode();
      String message = s3.awsErrorDetails() == null ? null : s3.awsErrorDetails().errorMessage();
      StringBuilder b = new StringBuilder();
      b.append(code == null || code.isEmpty() ? "error" : code).append(" (HTTP ").append(s3.statusCode()).append(')');
      if (message != null && !message.isBlank() && !message.equals(code)) {
        b.append(": ").append(message);
      }
      return b.toString();
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String m = root.getMessage();
    return root == e ? String.valueOf(m) : root.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
