package io.vstore.server.jobs;

import io.vstore.server.ProgressSink;

/** What running work sees of its job: where to report progress, and whether it was cancelled. */
public interface JobContext extends ProgressSink {
  /** Returns the job's id. */
  String id();

  /** Returns whether cancellation was asked for; long work checks it between steps and stops. */
  boolean isCancelled();

  /** Throws {@link java.util.concurrent.CancellationException} if cancellation was asked for. */
  default void checkCancelled() {
    if (isCancelled()) {
      throw new java.util.concurrent.CancellationException("job " + id() + " was cancelled");
    }
  }
}
