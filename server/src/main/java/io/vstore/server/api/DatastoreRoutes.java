package io.vstore.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Alarm;
import io.vstore.blockstore.store.DatastoreInfo;
import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.Router;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code /api/v1/datastores}: the owned datastores, their space figures and capacity settings. */
final class DatastoreRoutes {
  /** The datastore's descriptor, whose {@code capacity} field holds the configured limit (0: free space). */
  private static final String DESCRIPTOR = "datastore.json";
  /** Serializes PATCHes, which are rare: each reads the settings it does not change, then writes all. */
  private static final Object SETTINGS_LOCK = new Object();

  /**
   * One datastore as the API shows it: {@code datastore info} plus its name in the daemon, its
   * configured capacity (0: the file system's free space) and its alarm level.
   *
   * @param name the name requests address it by ({@code ?datastore=NAME})
   * @param path its directory on the daemon's host
   * @param uuid its identity
   * @param capacity the effective capacity limit in bytes
   * @param configuredCapacity the configured limit, 0 when the file system's free space is the limit
   * @param provisioned sum of the volumes' virtual sizes
   * @param allocated bytes held by live records
   * @param used bytes the segment files occupy
   * @param overcommitRatio provisioned divided by capacity
   * @param volumes number of volumes
   * @param segments number of segment files
   * @param warningPercent usage that raises a warning
   * @param criticalPercent usage that raises a critical alarm
   * @param alarmLevel {@code NONE}, {@code WARNING} or {@code CRITICAL}
   * @param alarms the alarms currently raised
   */
  record View(String name, String path, String uuid, long capacity, long configuredCapacity, long provisioned,
      long allocated, long used, double overcommitRatio, int volumes, int segments, int warningPercent,
      int criticalPercent, String alarmLevel, List<Alarm> alarms) {}

  /** The body of a PATCH: the settings to change; absent ones keep their value. */
  record Settings(Long capacity, Integer warningPercent, Integer criticalPercent) {}

  private DatastoreRoutes() {}

  /** Adds the datastore routes. */
  static void register(Router router, DatastoreHost host, EventBus events) {
    Requests.add(router, "GET", "/api/v1/datastores", Scope.READ, "List the datastores this daemon owns.",
        ex -> {
          List<View> out = new ArrayList<>();
          for (ManagedDatastore ds : host.all()) {
            out.add(view(ds));
          }
          ex.json(200, out);
        });
    Requests.add(router, "GET", "/api/v1/datastores/{name}", Scope.READ,
        "Show a datastore's capacity, provisioned and allocated space, thresholds and alarms.",
        ex -> ex.json(200, view(host.byName(ex.path("name")))));
    Requests.add(router, "PATCH", "/api/v1/datastores/{name}", Scope.ADMIN,
        "Change a datastore's capacity limit and alarm thresholds.", ex -> patch(ex, host, events));
  }

  private static void patch(Exchange ex, DatastoreHost host, EventBus events) throws IOException {
    ManagedDatastore ds = host.byName(ex.path("name"));
    Settings s = Requests.body(ex, Settings.class);
    if (s.capacity() == null && s.warningPercent() == null && s.criticalPercent() == null) {
      throw ApiException.badRequest("nothing to change: give capacity, warningPercent or criticalPercent");
    }
    View after;
    // Read-modify-write of the descriptor: two PATCHes must not undo each other's fields.
    synchronized (SETTINGS_LOCK) {
      DatastoreInfo now = ds.store().info();
      long capacity = s.capacity() != null ? s.capacity() : configuredCapacity(ds);
      int warning = s.warningPercent() != null ? s.warningPercent() : now.warningPercent();
      int critical = s.criticalPercent() != null ? s.criticalPercent() : now.criticalPercent();
      ds.store().setCapacity(capacity, warning, critical);
      after = view(ds);
    }
    events.publish("datastore.changed", ds.name(), Map.of("capacity", after.configuredCapacity(),
        "warningPercent", after.warningPercent(), "criticalPercent", after.criticalPercent()));
    ex.json(200, after);
  }

  /** Returns the API view of {@code ds}. */
  static View view(ManagedDatastore ds) throws IOException {
    DatastoreInfo i = ds.store().info();
    return new View(ds.name(), i.path(), i.uuid(), i.capacity(), configuredCapacity(ds), i.provisioned(),
        i.allocated(), i.used(), i.overcommitRatio(), i.volumes(), i.segments(), i.warningPercent(),
        i.criticalPercent(), alarmLevel(i), i.alarms());
  }

  /** Returns the highest level among {@code i}'s alarms, or {@code NONE}. */
  static String alarmLevel(DatastoreInfo i) {
    Alarm.Level level = null;
    for (Alarm a : i.alarms()) {
      if (level == null || a.level().compareTo(level) > 0) {
        level = a.level();
      }
    }
    return level == null ? "NONE" : level.name();
  }

  /**
   * Returns the configured capacity limit (0: free space). {@link DatastoreInfo#capacity} is the
   * effective limit, which with no configured one is a moving figure; keeping a PATCH of only the
   * thresholds from pinning it needs the configured value, which only the descriptor holds.
   */
  private static long configuredCapacity(ManagedDatastore ds) throws IOException {
    JsonNode d = Exchange.JSON.readTree(Files.readAllBytes(ds.path().resolve(DESCRIPTOR)));
    JsonNode capacity = d.path("capacity");
    if (!capacity.canConvertToLong()) {
      throw new IOException("bad datastore descriptor: " + ds.path().resolve(DESCRIPTOR)
          + " has no integer field capacity");
    }
    return capacity.asLong();
  }
}
