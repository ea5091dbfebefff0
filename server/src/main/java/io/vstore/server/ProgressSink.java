package io.vstore.server;

/** Receives the progress of long work: bytes (or units) done of a total. */
@FunctionalInterface
public interface ProgressSink {
  /** Ignores progress. */
  ProgressSink NONE = (done, total) -> {};

  /** Records that {@code done} of {@code total} is finished; called from any thread. */
  void update(long done, long total);
}
