package io.vstore.server.jobs;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A job of a {@link JobManager}: its fixed facts, its state (guarded by the manager's lock) and its
 * progress (guarded by itself).
 */
final class Job implements JobContext {
  final String id;
  final String kind;
  final String datastore;
  final String target;
  final boolean heavy;
  final String created;
  final Instant createdAt;
  CountDownLatch ended = new CountDownLatch(1);
  volatile boolean cancelled;
  JobState state;
  Object result;
  String error;
  String started;
  String finished;
  Thread thread;
  Jobs.Work work;
  /** Whether the (large) result is only in the record. */
  boolean resultOnDisk;
  private final RateWindow window = new RateWindow();
  private long done;
  private long total;
  private long lastEvent = System.nanoTime() - JobManager.EVENT_NANOS;
  private long lastPersist = System.nanoTime();
  private final JobManager manager;

  Job(JobInfo info, boolean heavy, JobManager manager) {
    this.manager = manager;
    this.id = info.id();
    this.kind = info.kind();
    this.datastore = info.datastore();
    this.target = info.target();
    this.heavy = heavy;
    this.created = info.created();
    this.createdAt = Instant.parse(info.created());
    this.state = info.state();
    this.result = info.result();
    this.error = info.error();
    this.started = info.started();
    this.finished = info.finished();
    this.done = info.done();
    this.total = info.total();
    if (state.isFinal()) {
      ended.countDown();
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public void update(long done, long total) {
    Map<String, Object> event = null;
    boolean persistNow = false;
    long now = System.nanoTime();
    synchronized (this) {
      this.done = Math.max(0, done);
      this.total = Math.max(0, total);
      window.add(now, this.done);
      boolean complete = this.total > 0 && this.done >= this.total;
      if (now - lastEvent >= JobManager.EVENT_NANOS || complete) {
        lastEvent = now;
        event = new LinkedHashMap<>();
        event.put("id", id);
        event.put("kind", kind);
        event.put("done", this.done);
        event.put("total", this.total);
        event.put("rate", window.rate());
        event.put("etaSeconds", window.etaSeconds(this.done, this.total));
        if (target != null) {
          event.put("target", target);
        }
      }
      if (now - lastPersist >= JobManager.PERSIST_NANOS) {
        lastPersist = now;
        persistNow = true;
      }
    }
    if (event != null) {
      manager.publishProgress(this, event);
    }
    if (persistNow) {
      manager.persistProgress(this);
    }
  }

  /** Returns the job as the API shows it; the caller holds the manager's lock. */
  JobInfo info() {
    long d;
    long t;
    double rate;
    long eta;
    synchronized (this) {
      d = done;
      t = total;
      boolean live = state == JobState.RUNNING;
      rate = live ? window.rate() : 0;
      eta = live ? window.etaSeconds(d, t) : -1;
    }
    return new JobInfo(id, kind, datastore, target, state, d, t, rate, eta, result, error, created, started,
        finished);
  }
}
