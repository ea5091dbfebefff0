package io.vstore.server.api;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.Router;
import io.vstore.server.jobs.Jobs;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;

/** {@code /api/v1/volumes}: thin volumes, listed, created, shown, deleted and flattened. */
final class VolumeRoutes {
  /** The most volumes one page of {@code GET /api/v1/volumes?limit=N} returns. */
  static final int MAX_LIMIT = 100_000;

  /** The body of {@code POST /api/v1/volumes}. */
  record Create(String name, Long size) {}

  private VolumeRoutes() {}

  /** Adds the volume routes. */
  static void register(Router router, DatastoreHost host, EventBus events, SnapshotGuard guard, Jobs jobs) {
    Map<String, VolumeListJson> lists = new ConcurrentHashMap<>(); // by datastore name
    Requests.add(router, "GET", "/api/v1/volumes", Scope.READ,
        "List volumes sorted by name, optionally a page at a time (limit, after) or only a VM's or pool's.",
        ex -> list(ex, host, lists));
    Requests.add(router, "POST", "/api/v1/volumes", Scope.WRITE, "Create a thin volume.", ex -> {
      ManagedDatastore ds = Requests.datastore(ex, host);
      Create c = Requests.body(ex, Create.class);
      SnapshotRef.checkName("volume", Requests.required(c.name(), "name"));
      long size = Requests.required(c.size(), "size");
      ds.store().createVolume(c.name(), size).close();
      VolumeInfo info = ds.store().volumeInfo(c.name());
      events.publish("volume.created", ds.name(), Map.of("volume", c.name(), "size", size));
      ex.json(201, info);
    });
    Requests.add(router, "GET", "/api/v1/volumes/{name}", Scope.READ,
        "Show a volume's sizes, allocation, change id and parent.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          ex.json(200, ds.store().volumeInfo(Requests.name(ex, "name", "volume")));
        });
    Requests.add(router, "DELETE", "/api/v1/volumes/{name}", Scope.WRITE,
        "Delete a volume; refused while it has snapshots unless recursive=true.",
        ex -> delete(ex, host, events, guard));
    Requests.add(router, "POST", "/api/v1/volumes/{name}/flatten", Scope.WRITE,
        "Copy up what a linked clone shares with its parent snapshot so that it no longer depends on it (a job).",
        ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String name = Requests.name(ex, "name", "volume");
          // Refusals are answered now (404, 409), not as failed jobs.
          String parent = ds.store().volumeInfo(name).parent();
          if (parent == null) {
            throw new ApiException(409, "volume " + name + " is not a linked clone: nothing to flatten");
          }
          ex.json(202, jobs.submit(ds.name(), "flatten", name, true, ctx -> {
            ds.store().flatten(name);
            events.publish("volume.flattened", ds.name(), Map.of("volume", name, "parent", parent));
            return ds.store().volumeInfo(name);
          }));
        });
  }

  private static void list(Exchange ex, DatastoreHost host, Map<String, VolumeListJson> lists) throws IOException {
    ManagedDatastore ds = Requests.datastore(ex, host);
    String after = ex.query("after");
    long limit = Requests.longQuery(ex, "limit", 0);
    if (ex.query("limit") != null && (limit < 1 || limit > MAX_LIMIT)) {
      throw ApiException.badRequest("bad query parameter limit " + limit + ": must be between 1 and " + MAX_LIMIT);
    }
    // volumes() reads each volume's figures without a flush (volumeInfo would flush once per volume).
    List<VolumeInfo> every = ds.store().volumes();
    List<VolumeInfo> all = every;
    Set<String> owned = ownedBy(ex, ds);
    if (owned != null) {
      all = all.stream().filter(v -> owned.contains(v.name())).toList();
    }
    int from = 0;
    if (after != null) {
      from = firstAfter(all, after);
    }
    int to = limit == 0 ? all.size() : (int) Math.min(all.size(), from + limit);
    List<VolumeInfo> page = all.subList(from, to);
    if (to < all.size() && limit > 0) {
      // RFC 8288 paging, as GitHub's API does: the body stays a plain array of volumes.
      StringBuilder next = new StringBuilder("/api/v1/volumes?limit=").append(limit).append("&after=")
          .append(encode(page.getLast().name()));
      for (String kept : List.of(Requests.DATASTORE, "vm", "pool")) {
        if (ex.query(kept) != null) {
          next.append('&').append(kept).append('=').append(encode(ex.query(kept)));
        }
      }
      ex.response().getHeaders().put("Link", "<" + next + ">; rel=\"next\"");
    }
    lists.computeIfAbsent(ds.name(), n -> new VolumeListJson()).send(ex, page, every);
  }

  /**
   * Returns the volumes of the VM or pool named by the {@code vm} or {@code pool} query parameter
   * (a pool's: its desktops' disks and its replica), or null when neither is given.
   */
  private static Set<String> ownedBy(Exchange ex, ManagedDatastore ds) throws IOException {
    String vm = ex.query("vm");
    String pool = ex.query("pool");
    if (vm != null && pool != null) {
      throw ApiException.badRequest("give either vm or pool, not both");
    }
    if (vm != null) {
      return new HashSet<>(ds.inventory().vms().get(vm).disks());
    }
    if (pool != null) {
      return new HashSet<>(ds.inventory().pools().get(pool).volumes());
    }
    return null;
  }

  /** Returns the index of the first volume of {@code sorted} whose name sorts after {@code name}. */
  private static int firstAfter(List<VolumeInfo> sorted, String name) {
    int lo = 0;
    int hi = sorted.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted.get(mid).name().compareTo(name) <= 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static void delete(Exchange ex, DatastoreHost host, EventBus events, SnapshotGuard guard)
      throws IOException {
    ManagedDatastore ds = Requests.datastore(ex, host);
    String name = Requests.name(ex, "name", "volume");
    boolean recursive = Requests.flagQuery(ex, "recursive");
    Datastore store = ds.store();
    String owner = ds.inventory().owner(name, null);
    if (owner != null) {
      throw new IllegalStateException("volume " + name + " belongs to " + owner + "; delete it through the "
          + (owner.startsWith("VM") ? "VM" : "pool") + " API");
    }
    // The engine refuses while snapshots exist unless recursive (as 'zfs destroy' and 'rbd rm'), naming them;
    // the guard keeps snapshot requests out meanwhile, so the events name exactly what went.
    List<SnapshotInfo> snapshots;
    Lock lock = guard.of(ds).writeLock();
    lock.lock();
    try {
      snapshots = store.snapshots(name);
      store.deleteVolume(name, recursive);
    } finally {
      lock.unlock();
    }
    for (SnapshotInfo s : snapshots) {
      events.publish("snapshot.deleted", ds.name(), Map.of("volume", name, "snapshot", s.name()));
    }
    events.publish("volume.deleted", ds.name(), Map.of("volume", name));
    ex.noContent();
  }
}
