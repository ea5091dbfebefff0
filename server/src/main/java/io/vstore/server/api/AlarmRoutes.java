package io.vstore.server.api;

import io.vstore.blockstore.store.Alarm;
import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.Router;
import java.util.ArrayList;
import java.util.List;

/** {@code GET /api/v1/alarms}: the capacity alarms currently raised on the owned datastores. */
final class AlarmRoutes {
  /**
   * A raised capacity alarm of one datastore.
   *
   * @param datastore the datastore's name in the daemon
   * @param level WARNING or CRITICAL
   * @param message what crossed which threshold
   * @param raisedAt when it was raised, ISO-8601
   */
  record View(String datastore, Alarm.Level level, String message, String raisedAt) {}

  private AlarmRoutes() {}

  /** Adds the alarm route. */
  static void register(Router router, DatastoreHost host, EventBus events) {
    Requests.add(router, "GET", "/api/v1/alarms", Scope.READ,
        "List the capacity alarms currently raised, of every owned datastore or of the one named.", ex -> {
          List<ManagedDatastore> stores = ex.query(Requests.DATASTORE) == null ? host.all()
              : List.of(Requests.datastore(ex, host));
          List<View> out = new ArrayList<>();
          for (ManagedDatastore ds : stores) {
            for (Alarm a : ds.store().info().alarms()) {
              out.add(new View(ds.name(), a.level(), a.message(), a.raisedAt()));
            }
          }
          ex.json(200, out);
        });
  }
}
