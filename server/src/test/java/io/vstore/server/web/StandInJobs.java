package io.vstore.server.web;

import io.vstore.server.EventBus;
import io.vstore.server.jobs.JobContext;
import io.vstore.server.jobs.JobInfo;
import io.vstore.server.jobs.JobState;
import io.vstore.server.jobs.Jobs;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test-only {@link Jobs} for a branch whose daemon has no job manager yet: runs each job on a
 * virtual thread and publishes {@code job.state} and {@code job.progress} events the way the
 * daemon's does, so the dashboard can be driven against it.
 */
final class StandInJobs implements Jobs {
  private final EventBus events;
  private final Map<String, Job> jobs = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();

  StandInJobs(EventBus events) {
    this.events = events;
  }

  private final class Job implements JobContext {
    final String id;
    final String kind;
    final String datastore;
    final String target;
    final String created = Instant.now().toString();
    final CountDownLatch ended = new CountDownLatch(1);
    volatile JobState state = JobState.QUEUED;
    volatile long done;
    volatile long total;
    volatile boolean cancelled;
    volatile String error;
    volatile Thread thread;

    Job(String id, String kind, String datastore, String target) {
      this.id = id;
      this.kind = kind;
      this.datastore = datastore;
      this.target = target;
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
      this.done = done;
      this.total = total;
      publish("job.progress");
    }

    JobInfo info() {
      return new JobInfo(id, kind, datastore, target, state, done, total, 0, -1, null, error, created, null, null);
    }

    void publish(String type) {
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("id", id);
      data.put("kind", kind);
      data.put("target", target);
      data.put("state", state.label());
      data.put("done", done);
      data.put("total", total);
      if (error != null) {
        data.put("error", error);
      }
      events.publish(type, datastore, data);
    }

    void run(Work work) {
      state = JobState.RUNNING;
      publish("job.state");
      try {
        work.run(this);
        state = JobState.SUCCEEDED;
      } catch (CancellationException | InterruptedException e) {
        state = JobState.CANCELLED;
      } catch (Exception e) {
        error = e.getMessage();
        state = JobState.FAILED;
      }
      publish("job.state");
      ended.countDown();
    }
  }

  @Override
  public JobInfo submit(String datastore, String kind, String target, boolean heavy, Work work) {
    Job job = new Job("job-" + ids.incrementAndGet(), kind, datastore, target);
    jobs.put(job.id, job);
    job.publish("job.state");
    job.thread = Thread.ofVirtual().start(() -> job.run(work));
    return job.info();
  }

  @Override
  public Optional<JobInfo> find(String id) {
    return Optional.ofNullable(jobs.get(id)).map(Job::info);
  }

  @Override
  public List<JobInfo> list() {
    return jobs.values().stream().map(Job::info).sorted(Comparator.comparing(JobInfo::created).reversed()).toList();
  }

  @Override
  public JobInfo cancel(String id) {
    Job job = jobs.get(id);
    if (job == null) {
      throw new IllegalArgumentException("no job " + id);
    }
    job.cancelled = true;
    job.thread.interrupt();
    return job.info();
  }

  @Override
  public JobInfo await(String id, Duration timeout) throws InterruptedException {
    Job job = jobs.get(id);
    job.ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    return job.info();
  }
}
