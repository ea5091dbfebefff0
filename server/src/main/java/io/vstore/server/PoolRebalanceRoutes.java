package io.vstore.server;

import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /api/v1/pools/{pool}/rebalance[?datastore=NAME][&dryRun=true]}: the command line
 * {@code pool rebalance POOL --json} run by the daemon's {@link CommandRunner}. A dry run answers
 * the plan at once (200); otherwise the rebalance is a job (202, the job). The datastore is the one
 * whose inventory holds the pool (default: the daemon's first).
 */
final class PoolRebalanceRoutes {
  private PoolRebalanceRoutes() {}

  /** Adds the route to {@code daemon}'s router; jobs start through {@code commands}. */
  static void register(Daemon daemon, CommandRoutes commands) {
    CommandCalls calls = new CommandCalls(daemon, commands);
    daemon.router().add("POST", "/api/v1/pools/{pool}/rebalance", Scope.WRITE,
        "Spread a desktop pool's desktops over the datastores it may use: the plan (dryRun=true) or a job.",
        ex -> rebalance(daemon, calls, ex));
  }

  private static void rebalance(Daemon daemon, CommandCalls calls, Exchange ex) throws IOException {
    String pool = ex.path("pool");
    if (pool == null || pool.isEmpty()) {
      throw ApiException.badRequest("the pool's name is required");
    }
    String dryRun = ex.query("dryRun");
    if (dryRun != null && !dryRun.equals("true") && !dryRun.equals("false")) {
      throw ApiException.badRequest("dryRun must be true or false, not '" + dryRun + "'");
    }
    List<String> argv = new ArrayList<>(List.of("-D", daemon.byName(ex.query("datastore")).path().toString(),
        "pool", "rebalance", pool, "--json"));
    if ("true".equals(dryRun)) {
      argv.add("--dry-run");
      ex.json(200, calls.runJson(argv, line -> line.startsWith("no pool ")));
    } else {
      ex.json(202, calls.startJob(argv));
    }
  }
}
