package io.vstore.server.api;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.DatastoreException;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.Router;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Lock;

/** {@code /api/v1/volumes/{name}/snapshots} and {@code /api/v1/snapshots}: volume snapshots. */
final class SnapshotRoutes {
  /** The body of {@code POST .../snapshots}. */
  record Create(String name) {}

  private SnapshotRoutes() {}

  /** Adds the snapshot routes. */
  static void register(Router router, DatastoreHost host, EventBus events, SnapshotGuard guard) {
    Requests.add(router, "GET", "/api/v1/snapshots", Scope.READ,
        "List the snapshots of every volume, by volume name, each volume's oldest first.", ex -> {
          Requests.jsonList(ex, Requests.datastore(ex, host).store().snapshots());
        });
    Requests.add(router, "GET", "/api/v1/volumes/{name}/snapshots", Scope.READ,
        "List a volume's snapshots, oldest first, with their space figures.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          ex.json(200, ds.store().snapshots(Requests.name(ex, "name", "volume")));
        });
    Requests.add(router, "POST", "/api/v1/volumes/{name}/snapshots", Scope.WRITE,
        "Snapshot a volume (O(1), whatever its size).", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String volume = Requests.name(ex, "name", "volume");
          String snap = Requests.required(Requests.body(ex, Create.class).name(), "name");
          SnapshotRef.checkName("snapshot", snap);
          SnapshotInfo info;
          Lock lock = guard.of(ds).readLock();
          lock.lock();
          try {
            info = ds.store().createSnapshot(volume, snap);
          } finally {
            lock.unlock();
          }
          events.publish("snapshot.created", ds.name(), Map.of("volume", volume, "snapshot", snap,
              "changeId", info.changeId()));
          ex.json(201, info);
        });
    Requests.add(router, "GET", "/api/v1/volumes/{name}/snapshots/{snap}", Scope.READ,
        "Show one snapshot's change id and space figures.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          ex.json(200, find(ds, Requests.name(ex, "name", "volume"), Requests.name(ex, "snap", "snapshot")));
        });
    Requests.add(router, "DELETE", "/api/v1/volumes/{name}/snapshots/{snap}", Scope.WRITE,
        "Delete a snapshot, reclaiming what only it holds (refused while it has clones).", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String volume = Requests.name(ex, "name", "volume");
          String snap = Requests.name(ex, "snap", "snapshot");
          String owner = ds.inventory().owner(volume, snap);
          if (owner != null) {
            throw new IllegalStateException("snapshot " + volume + "@" + snap + " belongs to " + owner
                + "; delete it through the " + (owner.startsWith("VM") ? "VM" : "pool") + " API");
          }
          ds.store().deleteSnapshot(volume, snap);
          events.publish("snapshot.deleted", ds.name(), Map.of("volume", volume, "snapshot", snap));
          ex.noContent();
        });
    Requests.add(router, "POST", "/api/v1/volumes/{name}/snapshots/{snap}/revert", Scope.WRITE,
        "Make a volume hold what one of its snapshots holds (the snapshot stays).", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String volume = Requests.name(ex, "name", "volume");
          String snap = Requests.name(ex, "snap", "snapshot");
          ds.store().revert(volume, snap);
          events.publish("snapshot.reverted", ds.name(), Map.of("volume", volume, "snapshot", snap));
          ex.json(200, ds.store().volumeInfo(volume));
        });
  }

  /** Returns snapshot {@code volume@snap} of {@code ds}, or throws the engine's "no snapshot" error (a 404). */
  static SnapshotInfo find(ManagedDatastore ds, String volume, String snap) throws IOException {
    for (SnapshotInfo s : ds.store().snapshots(volume)) {
      if (s.name().equals(snap)) {
        return s;
      }
    }
    throw new DatastoreException("no snapshot " + volume + "@" + snap + " in datastore " + ds.path());
  }
}
