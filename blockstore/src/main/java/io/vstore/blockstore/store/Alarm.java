package io.vstore.blockstore.store;

/**
 * A raised capacity alarm.
 *
 * @param level WARNING or CRITICAL
 * @param message what crossed which threshold
 * @param raisedAt when it was raised, ISO-8601
 */
public record Alarm(Level level, String message, String raisedAt) {
  /** How serious an alarm is. */
  public enum Level {
    WARNING,
    CRITICAL
  }
}
