package io.vstore.server.api;

import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.http.Router;
import io.vstore.server.jobs.Jobs;

/**
 * The REST resources of the daemon: datastores, volumes, snapshots, clones, changed-block
 * tracking, VMs, pools and alarms, each a class of its own. Objects live in the datastore named
 * by the {@code datastore} query parameter (default: the first owned one); changes are published
 * on the event bus ({@code volume.created}, {@code snapshot.deleted}, {@code clone.created}, ...).
 */
public final class ApiRoutes {
  private ApiRoutes() {}

  /** Adds every REST resource's routes to {@code router}, serving the datastores of {@code host}. */
  public static void register(Router router, DatastoreHost host, EventBus events, Jobs jobs) {
    DatastoreRoutes.register(router, host, events);
    SnapshotGuard guard = new SnapshotGuard();
    VolumeRoutes.register(router, host, events, guard, jobs);
    SnapshotRoutes.register(router, host, events, guard);
    CloneRoutes.register(router, host, events);
    ChangeRoutes.register(router, host, events);
    VmRoutes.register(router, host, events);
    PoolRoutes.register(router, host, events);
    AlarmRoutes.register(router, host, events);
  }
}
