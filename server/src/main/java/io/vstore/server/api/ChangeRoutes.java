package io.vstore.server.api;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.ChangePin;
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
import java.util.Map;

/**
 * {@code GET /api/v1/volumes/{name}/changes}: changed-block tracking, as {@code vstore cbt changes};
 * {@code /api/v1/pins}: the pinned change ids, as {@code vstore cbt pin|unpin|pins}.
 */
final class ChangeRoutes {
  /** The body of {@code POST /api/v1/pins}. */
  record PinRequest(String changeId, String label) {}

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
    Requests.add(router, "GET", "/api/v1/pins", Scope.READ,
        "List the pinned change ids (of one volume with ?volume=), by volume and generation.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          ex.json(200, ds.store().changePins(ex.query("volume")));
        });
    Requests.add(router, "POST", "/api/v1/pins", Scope.WRITE,
        "Pin a change id so that changes since it stay answerable until it is unpinned.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          PinRequest req = Requests.body(ex, PinRequest.class);
          ChangePin pin = ds.store().pinChangeId(Requests.required(req.changeId(), "changeId"), req.label());
          events.publish("pin.created", ds.name(), Map.of("volume", pin.volume(), "changeId", pin.changeId(),
              "label", pin.label()));
          ex.json(201, pin);
        });
    Requests.add(router, "DELETE", "/api/v1/pins", Scope.WRITE,
        "Remove every pin of a change id, or the pin of a label (?pin=), returning the removed pins.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String pin = ex.query("pin");
          if (pin == null || pin.isBlank()) {
            throw ApiException.badRequest("missing query parameter pin: a pinned change id or a pin's label");
          }
          List<ChangePin> gone = ds.store().unpinChangeId(pin);
          for (ChangePin p : gone) {
            events.publish("pin.deleted", ds.name(), Map.of("volume", p.volume(), "changeId", p.changeId(),
                "label", p.label()));
          }
          ex.json(200, gone);
        });
  }
}
