package io.vstore.server.jobs;

/**
 * A job as the API shows it. Times are ISO-8601 instants (null until reached); {@code rate} is
 * bytes per second and {@code etaSeconds} -1 when unknown; {@code result} is what the work returned
 * (for a forwarded command: its exit code and output), {@code error} the one-line failure.
 */
public record JobInfo(String id, String kind, String datastore, String target, JobState state, long done, long total,
    double rate, long etaSeconds, Object result, String error, String created, String started, String finished) {
  /** Returns this job without its result (lists carry many jobs; a command's output may be large). */
  public JobInfo withoutResult() {
    return result == null ? this : withResult(null);
  }

  /** Returns this job with {@code newResult} as its result. */
  public JobInfo withResult(Object newResult) {
    return new JobInfo(id, kind, datastore, target, state, done, total, rate, etaSeconds, newResult, error, created,
        started, finished);
  }
}
