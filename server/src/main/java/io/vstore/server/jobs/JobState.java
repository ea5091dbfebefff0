package io.vstore.server.jobs;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Where a job is in its life; the last four are final. */
public enum JobState {
  QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED;

  /** Returns whether the job has ended. */
  public boolean isFinal() {
    return this != QUEUED && this != RUNNING;
  }

  /** Returns the lower-case name the API uses. */
  @JsonValue
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a lower-case state name ({@code queued}, {@code running}, ...). */
  @JsonCreator
  public static JobState parse(String s) {
    for (JobState state : values()) {
      if (state.label().equals(s)) {
        return state;
      }
    }
    throw new IllegalArgumentException("unknown job state '" + s
        + "' (expected queued, running, succeeded, failed, cancelled or interrupted)");
  }
}
