package io.vstore.cli;

import io.vstore.backup.engine.BackupListener;
import java.io.PrintWriter;

/** Shows a backup's or restore's progress as a bar per volume and its notes on stderr. */
final class BackupProgress implements BackupListener, AutoCloseable {
  private final ProgressOptions options;
  private final PrintWriter err;
  private volatile Progress bar;

  BackupProgress(ProgressOptions options, PrintWriter err) {
    this.options = options;
    this.err = err;
  }

  @Override
  public synchronized void started(String what, long totalBytes) {
    close();
    bar = options.bar(what, totalBytes);
  }

  @Override
  public void progress(long doneBytes) {
    Progress b = bar;
    if (b != null) {
      b.accept(doneBytes);
    }
  }

  @Override
  public void log(String line) {
    err.println("vstore: " + line);
    err.flush();
  }

  @Override
  public synchronized void close() {
    if (bar != null) {
      bar.close();
      bar = null;
    }
  }
}
