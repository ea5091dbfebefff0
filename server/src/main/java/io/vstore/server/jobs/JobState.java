package io.vstore.server.jobs;

import java.util.Locale;

/** Where a job is in its life; the last four are final. */
public enum JobState {
  QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED;

  /** Returns whether the job has ended. */
  public boolean isFinal() {
    return this != QUEUED && this != RUNNING;
  }

  /** Returns the lower-case name the API uses. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
