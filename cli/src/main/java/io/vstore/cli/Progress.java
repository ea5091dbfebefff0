package io.vstore.cli;

import io.vstore.vdisk.chain.ChainProgress;
import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * A progress bar on stderr for long work, shown only when attached to a terminal; updates at most
 * ten times a second and from any thread.
 */
final class Progress implements LongConsumer, AutoCloseable {
  private static final long INTERVAL_NANOS = 100_000_000L;
  private final String label;
  private final long total;
  private final PrintStream err;
  private final boolean enabled;
  /** Where progress goes when the command runs in the daemon (null: a terminal bar, if any). */
  private final io.vstore.server.ProgressSink sink;
  private final long started = System.nanoTime();
  private final AtomicLong lastShown = new AtomicLong(-INTERVAL_NANOS);
  private volatile long done;

  Progress(String label, long total) {
    this.label = label;
    this.total = Math.max(1, total);
    this.err = System.err;
    this.sink = DaemonContext.current().map(DaemonContext::progress).orElse(null);
    var console = System.console();
    this.enabled = sink == null && console != null && console.isTerminal();
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
    int width = 30;
    long d = Math.min(done, total);
    int filled = (int) (width * d / total);
    double seconds = Math.max(1e-9, (now - started) / 1e9);
    err.printf("\r%s [%s%s] %3d%% %s/s   ", label, "#".repeat(filled), " ".repeat(width - filled), 100 * d / total,
        Sizes.format((long) (d / seconds)));
    err.flush();
  }

  @Override
  public void close() {
    if (enabled) {
      done = total;
      show(System.nanoTime());
      err.println();
    }
  }
}
