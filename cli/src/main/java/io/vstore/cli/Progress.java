package io.vstore.cli;

import io.vstore.vdisk.chain.ChainProgress;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * A progress bar on the command's stderr for long work, redrawn in place at most ten times a
 * second from any thread, never wider than the terminal (a long label is shortened, the bar
 * narrows); shown only when {@link ProgressOptions} says so.
 */
final class Progress implements LongConsumer, AutoCloseable {
  private static final long INTERVAL_NANOS = 100_000_000L;
  private static final int MAX_BAR = 30;
  private static final int MIN_BAR = 5;
  private final String label;
  private final long total;
  private final PrintWriter err;
  private final boolean enabled;
  private final int columns;
  /** Where progress goes when the command runs in the daemon (null: a terminal bar, if enabled). */
  private final io.vstore.server.ProgressSink sink;
  private final long started = System.nanoTime();
  private final AtomicLong lastShown = new AtomicLong(-INTERVAL_NANOS);
  private volatile long done;

  /** Creates a bar for {@code total} bytes of work labelled {@code label}, drawn on {@code err} when {@code enabled}. */
  Progress(String label, long total, PrintWriter err, boolean enabled) {
    this.label = label;
    this.total = Math.max(1, total);
    this.err = err;
    this.sink = DaemonContext.current().map(DaemonContext::progress).orElse(null);
    this.enabled = sink == null && enabled;
    this.columns = this.enabled ? Terminal.columns() : 80;
  }

  /** Returns a listener that shows a library workflow's {@code done} of {@code total} as the same fraction of this bar. */
  ChainProgress scaled() {
    return (workDone, workTotal) -> accept((long) ((double) workDone / Math.max(1, workTotal) * total));
  }

  @Override
  public void accept(long bytesDone) {
    done = Math.max(done, bytesDone);
    if (sink != null) {
      sink.update(Math.min(done, total), total);
    }
    if (!enabled) {
      return;
    }
    long now = System.nanoTime();
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
    if (enabled) {
      done = total;
      show(System.nanoTime());
      err.println();
      err.flush();
    }
  }
}
