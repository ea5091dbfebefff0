package io.vstore.server.api;

import io.vstore.engine.Desktop;
import io.vstore.engine.DesktopPool;
import io.vstore.engine.DesktopPools;
import io.vstore.engine.Pending;
import io.vstore.engine.PoolReport;
import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.Router;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code /api/v1/pools}: linked-clone desktop pools and their space savings, read-only here.
 * Creating, recomposing, refreshing and deleting a pool touch every desktop: they run as jobs.
 */
final class PoolRoutes {
  /**
   * One pool with its space-savings report.
   *
   * @param name its name
   * @param base the base {@code VM@SNAP} it is built from
   * @param generation bumped by every recompose
   * @param replica the replica's volumes
   * @param persistentSize size of each desktop's persistent disk, 0 for none
   * @param disposableSize size of each desktop's disposable disk, 0 for none
   * @param desktops the desktops and their disks
   * @param created creation time, ISO-8601
   * @param pending the operation a crash interrupted and the daemon could not finish, or null
   * @param space what full copies would take against what the pool allocates
   */
  record View(String name, String base, long generation, List<String> replica, long persistentSize,
      long disposableSize, List<Desktop> desktops, String created, Pending pending, PoolReport space) {}

  private PoolRoutes() {}

  /** Adds the pool routes. */
  static void register(Router router, DatastoreHost host, EventBus events) {
    Requests.add(router, "GET", "/api/v1/pools", Scope.READ, "List desktop pools with their space savings.", ex -> {
      DesktopPools pools = Requests.datastore(ex, host).inventory().pools();
      List<View> out = new ArrayList<>();
      for (DesktopPool p : pools.list()) {
        out.add(view(pools, p));
      }
      ex.json(200, out);
    });
    Requests.add(router, "GET", "/api/v1/pools/{name}", Scope.READ,
        "Show a desktop pool's desktops and its space-savings report.", ex -> {
          DesktopPools pools = Requests.datastore(ex, host).inventory().pools();
          ex.json(200, view(pools, pools.get(Requests.name(ex, "name", "pool"))));
        });
  }

  private static View view(DesktopPools pools, DesktopPool p) throws IOException {
    return new View(p.name(), p.base(), p.generation(), p.replica(), p.persistentSize(), p.disposableSize(),
        p.desktops(), p.created(), p.pending(), pools.report(p.name()));
  }
}
