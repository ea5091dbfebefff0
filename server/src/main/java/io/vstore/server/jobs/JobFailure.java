package io.vstore.server.jobs;

/**
 * A failure of a job's work that still has a result to keep (a forwarded command that exited
 * non-zero keeps its exit code and output): the job fails with this message and this result.
 */
public final class JobFailure extends Exception {
  private final transient Object result;

  /** Creates the failure with its one-line {@code message} and the {@code result} to keep (JSON-friendly). */
  public JobFailure(String message, Object result) {
    super(message);
    this.result = result;
  }

  /** Returns the result the failed job keeps. */
  public Object result() {
    return result;
  }
}
