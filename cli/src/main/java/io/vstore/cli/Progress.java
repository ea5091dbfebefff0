package io.vstore.cli;

import io.vstore.server.ProgressSink;
import io.vstore.vdisk.chain.ChainProgress;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * A progress bar on the command's stderr for long work, redrawn in place at most ten times a
 * second from any thread, never wider than the terminal (a long label is shortened, the bar
 * narrows); shown only when {@link ProgressOptions} says so. A runner executing the command as a
 * job (the daemon) binds {@link #SINK}, which hears of the progress whether a bar is shown or not.
 */
final class Progress implements LongConsumer, AutoCloseable {
  /** Where the current command's progress goes besides the bar, when a runner provides it. */
  static final ScopedValue<ProgressSink> SINK = ScopedValue.newInstance();
  private static final long INTERVAL_NANOS = 100_000_000L;
  /** A job's progress travels as events: five a second are enough. */
  private static final long SINK_INTERVAL_NANOS = 200_000_000L;
  private static final int MAX_BAR = 30;
  private static final int MIN_BAR = 5;
  private final String label;
  private final long total;
  private final PrintWriter err;
  private final boolean enabled;
  private final int columns;
  private final long started = System.nanoTime();
  private final AtomicLong lastShown = new AtomicLong(-INTERVAL_NANOS);
  private final AtomicLong lastReported = new AtomicLong(-SINK_INTERVAL_NANOS);
  private final ProgressSink sink;
  private volatile long done;

  /** Creates a bar for {@code total} bytes of work labelled {@code label}, drawn on {@code err} when {@code enabled}. */
  Progress(String label, long total, PrintWriter err, boolean enabled) {
    this.label = label;
    this.total = Math.max(1, total);
    this.err = err;
    // In the daemon the bar is the client's to draw, from the sink's progress lines.
    this.enabled = enabled && DaemonContext.current().isEmpty();
    this.columns = this.enabled ? Terminal.columns() : 80;
    this.sink = SINK.isBound() ? SINK.get() : null;
  }

  /** Returns a listener that shows a library workflow's {@code done} of {@code total} as the same fraction of this bar. */
  ChainProgress scaled() {
    return (workDone, workTotal) -> accept((long) ((double) workDone / Math.max(1, workTotal) * total));
  }

  @Override
  public void accept(long bytesDone) {
    done = Math.max(done, bytesDone);
    long now = System.nanoTime();
    if (sink != null) {
      long reported = lastReported.get();
      if (now - reported >= SINK_INTERVAL_NANOS && lastReported.compareAndSet(reported, now)) {
        sink.update(Math.min(done, total), total);
      }
    }
    if (!enabled) {
      return;
    }
    long last = lastShown.get();
    if (now - last >= INTERVAL_NANOS && lastShown.compareAndSet(last, now)) {
      show(now);
    }
  }

  private synchronized void show(long now) {
    long d = Math.min(done, total);
    double seconds = Math.max(1e-9, (now - started) / 1e9);
    err.print("\r" + line(label, d, total, (long) (d / seconds), columns));
    err.flush();
  }

  /**
   * Returns the bar's text for {@code done} of {@code total} at {@code rate} bytes/s, at most
   * {@code columns - 1} characters (the last column would wrap on some terminals).
   */
  static String line(String label, long done, long total, long rate, int columns) {
    String tail = String.format(Locale.ROOT, " %3d%% %10s/s", 100 * done / Math.max(1, total), Sizes.format(rate));
    int room = Math.max(0, columns - 1);
    int bar = Math.min(MAX_BAR, Math.max(MIN_BAR, room - tail.length() - 3 - Math.min(label.length(), 24)));
    int labelRoom = Math.max(0, room - tail.length() - bar - 3);
    String l = label.length() <= labelRoom ? label
        : labelRoom <= 1 ? "" : label.substring(0, labelRoom - 1) + "~";
    int filled = (int) (bar * done / Math.max(1, total));
    String text = l + " [" + "#".repeat(filled) + " ".repeat(bar - filled) + "]" + tail;
    return text.length() <= room ? text : text.substring(0, room);
  }

  @Override
  public void close() {
    if (sink != null) {
      sink.update(total, total);
    }
    if (enabled) {
      done = total;
      show(System.nanoTime());
      err.println();
      err.flush();
    }
  }
}
