package io.vstore.server.jobs;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The daemon's long operations: submitted, queued under a per-datastore limit on heavy jobs, run,
 * watched and cancelled. Job records persist; after a crash a job that was running shows as
 * {@link JobState#INTERRUPTED} (or resumes, if its kind can).
 */
public interface Jobs {
  /** The work of one job: returns its result (JSON-friendly) or throws its failure. */
  @FunctionalInterface
  interface Work {
    /** Does the work, reporting progress and checking for cancellation through {@code context}. */
    Object run(JobContext context) throws Exception;
  }

  /**
   * Work whose thread may also be interrupted when its job is cancelled (it blocks in sleeps, waits
   * or sockets). Other work is never interrupted: an interrupt that lands in file-channel I/O closes
   * the channel, and a datastore's channels are shared by everyone; such work sees cancellation
   * through {@link JobContext#isCancelled()}.
   */
  @FunctionalInterface
  interface InterruptibleWork extends Work {}

  /**
   * Submits work of {@code kind} (import, export, convert, flatten, clean, check, pool-create, ...)
   * on {@code target} in {@code datastore}; heavy work waits in the datastore's queue while its limit
   * of concurrent heavy jobs is reached, light work starts at once. Returns the job as it is once
   * submitted (queued, or already running).
   */
  JobInfo submit(String datastore, String kind, String target, boolean heavy, Work work);

  /** Returns job {@code id}, if known. */
  Optional<JobInfo> find(String id);

  /** Returns every job known, newest first. */
  List<JobInfo> list();

  /**
   * Asks job {@code id} to stop: a queued job is cancelled at once; a running one sees
   * {@link JobContext#isCancelled()} become true (and its thread is interrupted if its work is
   * {@link InterruptibleWork}). Returns the job as it now is.
   */
  JobInfo cancel(String id);

  /** Waits up to {@code timeout} for job {@code id} to end and returns it as it then is. */
  JobInfo await(String id, Duration timeout) throws InterruptedException;
}
