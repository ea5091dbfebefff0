package io.vstore.server.api;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.ChangedAreas;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Router;
import java.util.ArrayList;
import java.util.List;

/** {@code GET /api/v1/volumes/{name}/changes}: changed-block tracking, as {@code vstore cbt changes}. */
final class ChangeRoutes {
  /** What changed: the change id to ask from next time and the changed areas, in order. */
  record Changes(String changeId, List<Area> extents) {}

  /** One changed area. */
  record Area(long offset, long length) {}

  private ChangeRoutes() {}

  /** Adds the changed-block tracking route. */
  static void register(Router router, DatastoreHost host, EventBus events) {
    Requests.add(router, "GET", "/api/v1/volumes/{name}/changes", Scope.READ,
        "List the areas of a volume (or of its snapshot) changed since a change id ('*': every area holding data).",
        ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String volume = Requests.name(ex, "name", "volume");
          String snap = ex.query("snapshot");
          String ref = new SnapshotRef(volume, snap).toString();
          String since = ex.query("since");
          if (since == null) {
            throw ApiException.badRequest("missing query parameter since: a change id, or '*' for every area");
          }
          long offset = Requests.longQuery(ex, "offset", 0);
          long size;
          try (Volume v = ds.store().volume(ref, true)) {
            size = v.size();
          }
          long length = Requests.longQuery(ex, "length", Math.max(0, size - offset));
          ChangedAreas changes = ds.store().changedAreas(ref, since, offset, length);
          List<Area> areas = new ArrayList<>();
          for (Extent e : changes.extents()) {
            areas.add(new Area(e.offset(), e.length()));
          }
          ex.json(200, new Changes(changes.changeId(), areas));
        });
  }
}
