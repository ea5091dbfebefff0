package io.vstore.server;

import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Router;
import io.vstore.server.jobs.JobInfo;
import io.vstore.server.jobs.JobState;
import io.vstore.server.jobs.Jobs;
import java.time.Duration;
import java.util.List;

/** The {@code /api/v1/jobs} routes: list, show, cancel and wait for jobs. */
final class JobRoutes {
  /** How many jobs a list returns unless told. */
  static final int DEFAULT_LIMIT = 100;
  /** The most jobs a list returns. */
  static final int MAX_LIMIT = 1000;
  /** The longest a wait request holds on (a client waits longer by asking again). */
  static final double MAX_WAIT_SECONDS = 60;

  private JobRoutes() {}

  /** Adds the job routes to {@code router}, served from {@code jobs}. */
  static void register(Router router, Jobs jobs) {
    router.add("GET", "/api/v1/jobs", Scope.READ, "List jobs, newest first.", ex -> {
      String datastore = ex.query("datastore");
      String stateText = ex.query("state");
      JobState state = stateText == null ? null : JobState.parse(stateText);
      String kind = ex.query("kind");
      int limit = limit(ex.query("limit"));
      List<JobInfo> out = jobs.list().stream()
          .filter(j -> datastore == null || datastore.equals(j.datastore()))
          .filter(j -> state == null || state == j.state())
          .filter(j -> kind == null || kind.equals(j.kind()))
          .limit(limit)
          .toList();
      ex.json(200, out);
    });
    router.add("GET", "/api/v1/jobs/{id}", Scope.READ, "Show a job.",
        ex -> ex.json(200, jobs.find(ex.path("id")).orElseThrow(() -> ApiException.notFound("no job " + ex.path("id")))));
    router.add("POST", "/api/v1/jobs/{id}/cancel", Scope.WRITE, "Cancel a job (a queued one at once, a running one as soon as it checks).",
        ex -> ex.json(200, jobs.cancel(ex.path("id"))));
    router.add("GET", "/api/v1/jobs/{id}/wait", Scope.READ, "Wait for a job to end (long poll, at most 60 seconds) and show it.",
        ex -> ex.json(200, jobs.await(ex.path("id"), timeout(ex.query("timeout")))));
  }

  static int limit(String text) {
    if (text == null) {
      return DEFAULT_LIMIT;
    }
    try {
      int n = Integer.parseInt(text);
      if (n >= 1 && n <= MAX_LIMIT) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw ApiException.badRequest("limit must be a whole number from 1 to " + MAX_LIMIT + ", not '" + text + "'");
  }

  static Duration timeout(String text) {
    if (text == null) {
      return Duration.ofSeconds((long) MAX_WAIT_SECONDS);
    }
    double seconds;
    try {
      seconds = Double.parseDouble(text);
    } catch (NumberFormatException e) {
      seconds = Double.NaN;
    }
    if (!(seconds >= 0)) {
      throw ApiException.badRequest("timeout must be a number of seconds of at least 0, not '" + text + "'");
    }
    return Duration.ofMillis((long) (Math.min(seconds, MAX_WAIT_SECONDS) * 1000));
  }
}
