package io.vstore.server.api;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.Router;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code POST /api/v1/volumes/{name}/snapshots/{snap}/clones}: writable linked clones of a snapshot. */
final class CloneRoutes {
  /** The most clones one request creates, as {@code vstore clone create --count} allows. */
  static final int MAX_CLONES = 100_000;

  /**
   * The body: either {@code names}, or {@code name} alone (one clone), or {@code name} and
   * {@code count} (clones {@code name-1} ... {@code name-count}, as {@code vstore clone create --count}).
   */
  record Create(List<String> names, String name, Integer count) {}

  private CloneRoutes() {}

  /** Adds the clone route. */
  static void register(Router router, DatastoreHost host, EventBus events) {
    Requests.add(router, "POST", "/api/v1/volumes/{name}/snapshots/{snap}/clones", Scope.WRITE,
        "Create writable linked clones of a snapshot (O(1) each), by names or by a name and a count.",
        ex -> create(ex, host, events));
  }

  private static void create(Exchange ex, DatastoreHost host, EventBus events) throws IOException {
    ManagedDatastore ds = Requests.datastore(ex, host);
    String volume = Requests.name(ex, "name", "volume");
    String snap = Requests.name(ex, "snap", "snapshot");
    List<String> names = names(Requests.body(ex, Create.class));
    for (Volume v : ds.store().cloneSnapshot(volume, snap, names)) {
      v.close();
    }
    Set<String> wanted = new HashSet<>(names);
    List<VolumeInfo> clones = new ArrayList<>(names.size());
    // One pass over the catalog without flushes, rather than volumeInfo (a flush) per clone.
    for (VolumeInfo v : ds.store().volumes()) {
      if (wanted.contains(v.name())) {
        clones.add(v);
      }
    }
    String parent = volume + "@" + snap;
    events.publish("clone.created", ds.name(), Map.of("parent", parent, "count", names.size(),
        "names", names.size() <= 100 ? names : List.of(names.getFirst(), names.getLast())));
    ex.json(201, clones);
  }

  /** Returns the clone names {@code c} asks for, checked. */
  static List<String> names(Create c) {
    List<String> names = new ArrayList<>();
    if (c.names() != null) {
      if (c.name() != null || c.count() != null) {
        throw ApiException.badRequest("give either 'names' or 'name' (with an optional 'count'), not both");
      }
      if (c.names().isEmpty() || c.names().size() > MAX_CLONES) {
        throw ApiException.badRequest("'names' has " + c.names().size() + " entries: must be 1 to " + MAX_CLONES);
      }
      names.addAll(c.names());
    } else {
      String base = Requests.required(c.name(), "name");
      int count = c.count() == null ? 0 : c.count();
      if (count < 0 || count > MAX_CLONES) {
        throw ApiException.badRequest("count " + count + " must be between 1 and " + MAX_CLONES);
      }
      if (count == 0) {
        names.add(base);
      }
      for (int i = 1; i <= count; i++) {
        names.add(base + "-" + i);
      }
    }
    Set<String> seen = new HashSet<>();
    for (String n : names) {
      SnapshotRef.checkName("volume", n);
      if (!seen.add(n)) {
        throw ApiException.badRequest("clone name " + n + " is given twice");
      }
    }
    return names;
  }
}
