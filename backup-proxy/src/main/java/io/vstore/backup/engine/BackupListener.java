package io.vstore.backup.engine;

/** Hears how a backup or restore goes: what it works on, how far it got, and what it wants said. */
public interface BackupListener {
  /** Says that work on {@code what} begins, {@code totalBytes} to read or write. */
  default void started(String what, long totalBytes) {}

  /** Reports {@code doneBytes} of the current work done (any thread, monotonic). */
  default void progress(long doneBytes) {}

  /** Says one line the user should see (and a job should log). */
  default void log(String line) {}

  /** A listener that hears nothing. */
  BackupListener NONE = new BackupListener() {};
}
