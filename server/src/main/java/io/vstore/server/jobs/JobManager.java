package io.vstore.server.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.server.EventBus;
import io.vstore.server.http.ApiException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The daemon's {@link Jobs}: each job runs on its own virtual thread; heavy jobs wait in their
 * datastore's queue (first come, first served) while {@code maxHeavyJobs} of them run there, light
 * ones start at once. Every state change is persisted (see {@link JobStore}) and published as a
 * {@code job.state} event; progress is published as {@code job.progress} at most four times a
 * second per job and persisted every few seconds.
 *
 * <p>Datastores are added with {@link #open}, which also recovers the jobs a previous daemon left
 * queued or running: they resume if their kind has a {@link Resumer} (register it before
 * {@code open}), else they become {@link JobState#INTERRUPTED}.
 */
public final class JobManager implements Jobs, Closeable {
  /** How many finished jobs each datastore keeps; older ones are deleted. */
  static final int KEEP_FINISHED = 1000;
  /** How long {@link #close} waits for cancelled jobs to stop. */
  static final Duration STOP_WAIT = Duration.ofSeconds(10);
  /** The least time between two progress events of one job (four a second). */
  static final long EVENT_NANOS = 250_000_000L;
  /** The least time between two progress writes of one job's record. */
  static final long PERSIST_NANOS = 5_000_000_000L;
  /**
   * The largest result (as JSON) a finished job keeps in memory; a larger one (a command's output
   * runs to 1 MiB) is read back from its record when asked for, so a thousand finished jobs per
   * datastore cannot fill the heap.
   */
  static final int MEMORY_RESULT = 64 << 10;
  /** The error of a job that was running or queued when the daemon stopped. */
  public static final String INTERRUPTED = "the daemon stopped while this job ran";
  private static final System.Logger LOG = System.getLogger("io.vstore.server.jobs");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Makes the work that continues a job found queued or running when the daemon starts. */
  @FunctionalInterface
  public interface Resumer {
    /** Returns the work that continues {@code interrupted} (its last recorded state), or null if it cannot resume. */
    Work resume(JobInfo interrupted) throws Exception;
  }

  private final EventBus events;
  private final int maxHeavyJobs;
  private final int keepFinished;
  private final Map<String, Resumer> resumers = new ConcurrentHashMap<>();
  private final Object lock = new Object();
  @GuardedBy("lock")
  private final Map<String, Lane> lanes = new LinkedHashMap<>();
  @GuardedBy("lock")
  private final Map<String, Job> jobs = new HashMap<>();
  @GuardedBy("lock")
  private boolean stopping;

  /** Creates a manager that runs up to {@code maxHeavyJobs} heavy jobs at once per datastore. */
  public JobManager(EventBus events, int maxHeavyJobs) {
    this(events, maxHeavyJobs, KEEP_FINISHED);
  }

  JobManager(EventBus events, int maxHeavyJobs, int keepFinished) {
    if (maxHeavyJobs < 1) {
      throw new IllegalArgumentException("the heavy-job limit must be at least 1, not " + maxHeavyJobs);
    }
    this.events = events;
    this.maxHeavyJobs = maxHeavyJobs;
    this.keepFinished = keepFinished;
  }

  /** Returns whether the daemon is stopping: cancelled work should then stay resumable rather than undo itself. */
  public boolean isStopping() {
    synchronized (lock) {
      return stopping;
    }
  }

  /** Registers how jobs of {@code kind} resume after the daemon stopped; call before {@link #open}. */
  public void registerResumer(String kind, Resumer resumer) {
    if (resumers.putIfAbsent(kind, resumer) != null) {
      throw new IllegalStateException("job kind " + kind + " has a resumer already");
    }
  }

  /**
   * Adds datastore {@code name} at {@code dir}: loads its job records, resumes or interrupts the
   * jobs left queued or running, and deletes finished ones beyond the number kept.
   */
  public void open(String name, Path dir) throws IOException {
    JobStore store = JobStore.open(dir);
    List<JobStore.Stored> records = store.load(name);
    // Instants as text do not sort (their fractions vary in length): compare them parsed.
    records.sort(Comparator.comparing((JobStore.Stored s) -> Instant.parse(s.info().created()))
        .thenComparing(s -> s.info().id()));
    synchronized (lock) {
      if (lanes.containsKey(name)) {
        throw new IllegalStateException("datastore " + name + " has jobs open already");
      }
      Lane lane = new Lane(name, store);
      lanes.put(name, lane);
      for (JobStore.Stored s : records) {
        Job job = new Job(s.info(), s.heavy(), this);
        jobs.put(job.id, job);
        if (!s.info().state().isFinal() || s.resume()) {
          recover(lane, job, s);
        } else {
          spill(job, true);
        }
      }
      prune(lane);
      pump(lane);
    }
  }

  @GuardedBy("lock")
  private void recover(Lane lane, Job job, JobStore.Stored record) {
    Resumer resumer = resumers.get(job.kind);
    if (resumer != null) {
      try {
        Work work = resumer.resume(record.info());
        if (work != null) {
          job.work = work;
          job.ended = new CountDownLatch(1); // its record was final (interrupted, to resume)
          job.state = JobState.QUEUED;
          job.error = null;
          job.started = null;
          job.finished = null;
          changed(job, false);
          lane.queue.addLast(job);
          return;
        }
      } catch (Exception e) {
        LOG.log(System.Logger.Level.WARNING, "job " + job.id + " (" + job.kind + ") cannot resume: " + e.getMessage());
        end(job, JobState.INTERRUPTED, null, INTERRUPTED + "; it could not resume: " + message(e), false);
        return;
      }
    }
    if (job.state == JobState.INTERRUPTED) {
      // Stopped cleanly earlier, and now nothing resumes it: it stays as it ended.
      persist(job, new JobStore.Stored(record.info(), record.heavy(), false));
      spill(job, true);
      return;
    }
    end(job, JobState.INTERRUPTED, null, INTERRUPTED, false);
  }

  @Override
  public JobInfo submit(String datastore, String kind, String target, boolean heavy, Work work) {
    if (kind == null || !JobStore.KIND.matcher(kind).matches()) {
      throw new IllegalArgumentException("bad job kind '" + kind + "' (lower-case letters, digits, '.' and '-')");
    }
    if (work == null) {
      throw new IllegalArgumentException("job " + kind + " has no work");
    }
    synchronized (lock) {
      if (stopping) {
        throw new ApiException(503, "the daemon is stopping: it takes no new jobs");
      }
      Lane lane = lanes.get(datastore);
      if (lane == null) {
        throw ApiException.notFound("no datastore " + datastore + " in this daemon (it owns "
            + String.join(", ", lanes.keySet()) + ")");
      }
      String id;
      do {
        id = String.format("%010x%06x", System.currentTimeMillis() & 0xff_ffff_ffffL,
            ThreadLocalRandom.current().nextInt(1 << 24));
      } while (jobs.containsKey(id));
      Job job = new Job(new JobInfo(id, kind, datastore, target, JobState.QUEUED, 0, 0, 0, -1, null, null,
          Instant.now().toString(), null, null), heavy, this);
      job.work = work;
      jobs.put(id, job);
      changed(job, false);
      if (heavy) {
        lane.queue.addLast(job);
        pump(lane);
      } else {
        start(job);
      }
      return job.info();
    }
  }

  /** Starts queued heavy jobs while the datastore's limit allows. */
  @GuardedBy("lock")
  private void pump(Lane lane) {
    while (!stopping && lane.runningHeavy < maxHeavyJobs && !lane.queue.isEmpty()) {
      Job job = lane.queue.removeFirst();
      lane.runningHeavy++;
      start(job);
    }
  }

  @GuardedBy("lock")
  private void start(Job job) {
    job.state = JobState.RUNNING;
    job.started = Instant.now().toString();
    job.thread = Thread.ofVirtual().name("vstore-job-" + job.id).unstarted(() -> execute(job));
    changed(job, false);
    job.thread.start();
  }

  private void execute(Job job) {
    Object result = null;
    Throwable failure = null;
    try {
      result = job.work.run(job);
    } catch (Throwable t) {
      failure = t;
    }
    synchronized (lock) {
      if (job.state.isFinal()) {
        return; // the daemon stopped and gave up waiting for it
      }
      Lane lane = lanes.get(job.datastore);
      if (job.heavy) {
        lane.runningHeavy--;
      }
      Object kept = failure instanceof JobFailure f ? f.result() : null;
      if (failure == null) {
        end(job, JobState.SUCCEEDED, result, null, false);
      } else if (job.cancelled && stopping) {
        end(job, JobState.INTERRUPTED, kept, INTERRUPTED, resumers.containsKey(job.kind));
      } else if (job.cancelled) {
        end(job, JobState.CANCELLED, kept, "cancelled", false);
      } else {
        if (!(failure instanceof JobFailure)) {
          LOG.log(System.Logger.Level.DEBUG, "job " + job.id + " (" + job.kind + ") failed", failure);
        }
        end(job, JobState.FAILED, kept, message(failure), false);
      }
      prune(lane);
      pump(lane);
    }
  }

  /** Ends {@code job} in final {@code state}, persists and publishes it, and wakes its waiters. */
  @GuardedBy("lock")
  private void end(Job job, JobState state, Object result, String error, boolean resume) {
    job.state = state;
    job.result = result;
    job.error = error;
    job.finished = Instant.now().toString();
    job.thread = null;
    job.work = null;
    boolean written = changed(job, resume);
    spill(job, written);
    job.ended.countDown();
  }

  /** Drops a large result of a finished job from memory when its record holds it (see {@link #MEMORY_RESULT}). */
  @GuardedBy("lock")
  private static void spill(Job job, boolean recorded) {
    if (!recorded || job.result == null) {
      return;
    }
    try {
      if (JSON.writeValueAsBytes(job.result).length > MEMORY_RESULT) {
        job.result = null;
        job.resultOnDisk = true;
      }
    } catch (IOException e) {
      // not serializable: it was not recorded either, keep it
    }
  }

  /** Persists {@code job}'s record and publishes its state; returns whether the record was written. */
  @GuardedBy("lock")
  private boolean changed(Job job, boolean resume) {
    JobInfo info = job.info();
    boolean written = persist(job, new JobStore.Stored(info, job.heavy, resume));
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("id", info.id());
    data.put("kind", info.kind());
    data.put("state", info.state().label());
    data.put("done", info.done());
    data.put("total", info.total());
    if (info.target() != null) {
      data.put("target", info.target());
    }
    if (info.error() != null) {
      data.put("error", info.error());
    }
    events.publish("job.state", info.datastore(), data);
    return written;
  }

  @GuardedBy("lock")
  private boolean persist(Job job, JobStore.Stored record) {
    Lane lane = lanes.get(job.datastore);
    try {
      lane.store.write(record);
      return true;
    } catch (IOException | RuntimeException e) {
      // The job goes on; its record is only as fresh as the last write that worked.
      LOG.log(System.Logger.Level.WARNING, "cannot write the record of job " + job.id + " in " + lane.store.dir()
          + ": " + message(e));
      return false;
    }
  }

  /** Deletes the oldest finished jobs of {@code lane} beyond the number kept. */
  @GuardedBy("lock")
  private void prune(Lane lane) {
    List<Job> finished = new ArrayList<>();
    for (Job j : jobs.values()) {
      if (j.datastore.equals(lane.name) && j.state.isFinal()) {
        finished.add(j);
      }
    }
    if (finished.size() <= keepFinished) {
      return;
    }
    finished.sort(NEWEST_FIRST.reversed());
    for (Job j : finished.subList(0, finished.size() - keepFinished)) {
      jobs.remove(j.id);
      try {
        lane.store.delete(j.id);
      } catch (IOException e) {
        LOG.log(System.Logger.Level.WARNING, "cannot delete the record of job " + j.id + ": " + message(e));
      }
    }
  }

  private static final Comparator<Job> NEWEST_FIRST =
      Comparator.comparing((Job j) -> j.createdAt).thenComparing(j -> j.id).reversed();

  @Override
  public Optional<JobInfo> find(String id) {
    JobView view;
    synchronized (lock) {
      Job job = jobs.get(id);
      if (job == null) {
        return Optional.empty();
      }
      view = view(job);
    }
    return Optional.of(view.load());
  }

  @Override
  public List<JobInfo> list() {
    List<JobView> views;
    synchronized (lock) {
      views = jobs.values().stream().sorted(NEWEST_FIRST).map(this::view).toList();
    }
    return views.stream().map(v -> v.info().withoutResult()).toList();
  }

  @Override
  public JobInfo cancel(String id) {
    JobView view;
    synchronized (lock) {
      Job job = get(id);
      switch (job.state) {
        case QUEUED -> {
          lanes.get(job.datastore).queue.remove(job);
          end(job, JobState.CANCELLED, null, "cancelled before it started", false);
        }
        case RUNNING -> {
          if (!job.cancelled) {
            job.cancelled = true;
            interrupt(job);
          }
        }
        default -> throw new IllegalStateException("job " + id + " has already ended (" + job.state.label() + ")");
      }
      view = view(job);
    }
    return view.load();
  }

  @Override
  public JobInfo await(String id, Duration timeout) throws InterruptedException {
    Job job;
    CountDownLatch ended;
    synchronized (lock) {
      job = get(id);
      ended = job.ended;
    }
    ended.await(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
    JobView view;
    synchronized (lock) {
      view = view(job);
    }
    return view.load();
  }

  @GuardedBy("lock")
  private JobView view(Job job) {
    return new JobView(job.info(), job.resultOnDisk ? lanes.get(job.datastore).store : null);
  }

  /** Interrupts the thread of a running job whose work allows it (see {@link InterruptibleWork}). */
  private static void interrupt(Job job) {
    if (job.work instanceof InterruptibleWork) {
      job.thread.interrupt();
    }
  }

  @GuardedBy("lock")
  private Job get(String id) {
    Job job = jobs.get(id);
    if (job == null) {
      throw ApiException.notFound("no job " + id);
    }
    return job;
  }

  /**
   * Stops taking jobs, cancels the running ones and waits (up to {@link #STOP_WAIT}) for them to
   * stop; every job not finished by then is recorded as interrupted (to resume at the next start
   * if its kind can).
   */
  @Override
  public void close() {
    List<Job> running = new ArrayList<>();
    List<CountDownLatch> ends = new ArrayList<>();
    synchronized (lock) {
      if (stopping) {
        return;
      }
      stopping = true;
      for (Lane lane : lanes.values()) {
        for (Job job : lane.queue) {
          end(job, JobState.INTERRUPTED, null, INTERRUPTED, resumers.containsKey(job.kind));
        }
        lane.queue.clear();
      }
      for (Job job : jobs.values()) {
        if (job.state == JobState.RUNNING) {
          job.cancelled = true;
          interrupt(job);
          running.add(job);
          ends.add(job.ended);
        }
      }
    }
    long deadline = System.nanoTime() + STOP_WAIT.toNanos();
    try {
      for (CountDownLatch ended : ends) {
        ended.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (lock) {
      for (Job job : running) {
        if (!job.state.isFinal()) {
          LOG.log(System.Logger.Level.WARNING, "job " + job.id + " (" + job.kind + ") did not stop within "
              + STOP_WAIT.toSeconds() + " s; recording it as interrupted");
          end(job, JobState.INTERRUPTED, null, INTERRUPTED, resumers.containsKey(job.kind));
        }
      }
    }
  }

  /** Publishes a {@code job.progress} event of {@code job}. */
  void publishProgress(Job job, Map<String, Object> event) {
    events.publish("job.progress", job.datastore, event);
  }

  /** Writes the record of {@code job} with its progress, if it still runs. */
  void persistProgress(Job job) {
    synchronized (lock) {
      if (job.state == JobState.RUNNING) {
        persist(job, new JobStore.Stored(job.info(), job.heavy, false));
      }
    }
  }

  static String message(Throwable e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.replace('\n', ' ');
  }

  /** One datastore's jobs: its records and its queue of heavy jobs. */
  private static final class Lane {
    final String name;
    final JobStore store;
    final ArrayDeque<Job> queue = new ArrayDeque<>();
    int runningHeavy;

    Lane(String name, JobStore store) {
      this.name = name;
      this.store = store;
    }
  }
}
