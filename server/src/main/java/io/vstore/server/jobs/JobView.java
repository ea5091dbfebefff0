package io.vstore.server.jobs;

import java.io.IOException;

/**
 * A job as it was under the job manager's lock, and the record store that holds its result when
 * only the record does (a large result is not kept in memory).
 */
record JobView(JobInfo info, JobStore store) {
  private static final System.Logger LOG = System.getLogger("io.vstore.server.jobs");

  /** Returns the job, its result read back from its record if needed (outside the lock: it may be large). */
  JobInfo load() {
    if (store == null) {
      return info;
    }
    Object result = null;
    try {
      result = JobStore.read(store.dir().resolve(info.id() + ".json"), info.datastore()).info().result();
    } catch (IOException e) {
      // deleted meanwhile (only the oldest are) or damaged: show the job without it
      LOG.log(System.Logger.Level.WARNING, "cannot read the result of job " + info.id() + ": "
          + JobManager.message(e));
    }
    return info.withResult(result);
  }
}
