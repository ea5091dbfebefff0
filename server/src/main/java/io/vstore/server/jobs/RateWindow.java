package io.vstore.server.jobs;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The rate of a job's progress over the last few seconds (a moving window, so a stall or a burst
 * shows soon, and the ETA follows the current speed rather than the average since the start).
 * Not thread-safe: its job guards it.
 */
final class RateWindow {
  /** How far back the window reaches. */
  static final long WINDOW_NANOS = 10_000_000_000L;
  /** The closest two samples may be; later updates within this replace the newest sample. */
  static final long SAMPLE_NANOS = 200_000_000L;

  private record Sample(long nanos, long done) {}

  private final ArrayDeque<Sample> samples = new ArrayDeque<>();

  /** Records that {@code done} units were finished at {@code nanos} ({@link System#nanoTime}). */
  void add(long nanos, long done) {
    Sample last = samples.peekLast();
    if (last != null && nanos - last.nanos() < SAMPLE_NANOS && samples.size() > 1) {
      samples.removeLast();
    }
    samples.addLast(new Sample(nanos, done));
    // Keep one sample at or beyond the window's start, so the window spans it fully.
    while (samples.size() > 2) {
      Iterator<Sample> it = samples.iterator();
      it.next();
      if (nanos - it.next().nanos() < WINDOW_NANOS) {
        break;
      }
      samples.removeFirst();
    }
  }

  /** Returns units per second over the window, or 0 before two samples exist. */
  double rate() {
    if (samples.size() < 2) {
      return 0;
    }
    Sample first = samples.peekFirst();
    Sample last = samples.peekLast();
    long nanos = last.nanos() - first.nanos();
    return nanos <= 0 ? 0 : Math.max(0, last.done() - first.done()) * 1e9 / nanos;
  }

  /** Returns the seconds left to reach {@code total} from {@code done} at the current rate, or -1 if unknown. */
  long etaSeconds(long done, long total) {
    double rate = rate();
    if (total <= 0 || rate <= 0) {
      return -1;
    }
    return (long) Math.ceil(Math.max(0, total - done) / rate);
  }
}
