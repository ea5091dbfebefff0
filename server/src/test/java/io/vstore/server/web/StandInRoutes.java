package io.vstore.server.web;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreInfo;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.server.Daemon;
import io.vstore.server.Event;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.Route;
import io.vstore.server.http.RouteHandler;
import io.vstore.server.http.Router;
import io.vstore.server.jobs.Jobs;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-only stand-ins for the REST routes the dashboard page uses, for a branch in which the
 * helpers building them have not merged yet. Each is added only where the daemon does not serve
 * that method and path itself, so once the real routes are there the tests run against them. The
 * shapes follow the daemon's API briefs; the data comes from the engine.
 */
final class StandInRoutes {
  private StandInRoutes() {}

  /** Adds every stand-in the daemon lacks; returns the job system the page will see. */
  static Jobs install(Daemon daemon) {
    Router router = daemon.router();
    EventBus bus = daemon.events();
    add(router, "GET", "/api/v1/datastores", Scope.READ, ex -> {
      List<Map<String, Object>> out = new ArrayList<>();
      for (ManagedDatastore ds : daemon.all()) {
        out.add(datastore(ds));
      }
      ex.json(200, out);
    });
    add(router, "GET", "/api/v1/volumes", Scope.READ, ex -> ex.json(200, store(daemon, ex).volumes()));
    add(router, "POST", "/api/v1/volumes", Scope.WRITE, ex -> {
      JsonNode body = ex.bodyTree();
      Datastore store = store(daemon, ex);
      String name = body.path("name").asText();
      store.createVolume(name, body.path("size").asLong()).close();
      bus.publish("volume.created", null, Map.of("volume", name));
      ex.json(201, store.volumeInfo(name));
    });
    add(router, "GET", "/api/v1/snapshots", Scope.READ, ex -> {
      Datastore store = store(daemon, ex);
      List<SnapshotInfo> all = new ArrayList<>();
      for (VolumeInfo v : store.volumes()) {
        all.addAll(store.snapshots(v.name()));
      }
      ex.json(200, all);
    });
    add(router, "POST", "/api/v1/volumes/{name}/snapshots", Scope.WRITE, ex -> {
      String snap = ex.bodyTree().path("name").asText();
      SnapshotInfo s = store(daemon, ex).createSnapshot(ex.path("name"), snap);
      bus.publish("snapshot.created", null, Map.of("volume", s.volume(), "snapshot", s.name()));
      ex.json(201, s);
    });
    add(router, "POST", "/api/v1/volumes/{name}/snapshots/{snapshot}/clones", Scope.WRITE, ex -> {
      JsonNode body = ex.bodyTree();
      Datastore store = store(daemon, ex);
      String base = body.path("name").asText();
      int count = body.path("count").asInt(1);
      List<String> names = new ArrayList<>();
      for (int i = 1; i <= count; i++) {
        names.add(count == 1 ? base : base + "-" + i);
      }
      store.cloneSnapshot(ex.path("name"), ex.path("snapshot"), names).forEach(v -> {
        try {
          v.close();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      bus.publish("clone.created", null, Map.of("parent", ex.path("name") + "@" + ex.path("snapshot"),
          "count", names.size(), "names", names));
      List<VolumeInfo> out = new ArrayList<>();
      for (String n : names) {
        out.add(store.volumeInfo(n));
      }
      ex.json(201, out);
    });
    add(router, "DELETE", "/api/v1/volumes/{name}", Scope.WRITE, ex -> {
      Datastore store = store(daemon, ex);
      String name = ex.path("name");
      if ("true".equals(ex.query("recursive"))) {
        for (SnapshotInfo s : store.snapshots(name)) {
          store.deleteSnapshot(name, s.name());
        }
      }
      store.deleteVolume(name);
      bus.publish("volume.deleted", null, Map.of("volume", name));
      ex.noContent();
    });
    add(router, "POST", "/api/v1/volumes/{name}/snapshots/{snapshot}/revert", Scope.WRITE, ex -> {
      store(daemon, ex).revert(ex.path("name"), ex.path("snapshot"));
      bus.publish("snapshot.reverted", null, Map.of("volume", ex.path("name"), "snapshot", ex.path("snapshot")));
      ex.json(200, store(daemon, ex).volumeInfo(ex.path("name")));
    });
    add(router, "DELETE", "/api/v1/volumes/{name}/snapshots/{snapshot}", Scope.WRITE, ex -> {
      store(daemon, ex).deleteSnapshot(ex.path("name"), ex.path("snapshot"));
      bus.publish("snapshot.deleted", null, Map.of("volume", ex.path("name"), "snapshot", ex.path("snapshot")));
      ex.noContent();
    });
    add(router, "GET", "/api/v1/vms", Scope.READ,
        ex -> ex.json(200, daemon.byName(ex.query("datastore")).inventory().vms().list()));
    add(router, "GET", "/api/v1/pools", Scope.READ, ex -> {
      var pools = daemon.byName(ex.query("datastore")).inventory().pools();
      List<Map<String, Object>> out = new ArrayList<>();
      for (var p : pools.list()) {
        out.add(pool(pools, p.name()));
      }
      ex.json(200, out);
    });
    add(router, "GET", "/api/v1/pools/{name}", Scope.READ,
        ex -> ex.json(200, pool(daemon.byName(ex.query("datastore")).inventory().pools(), ex.path("name"))));
    // Exports are only listed here: serving NBD is the exports branch's.
    List<Map<String, Object>> exports = new java.util.concurrent.CopyOnWriteArrayList<>();
    add(router, "GET", "/api/v1/exports", Scope.READ, ex -> ex.json(200, exports));
    add(router, "POST", "/api/v1/exports", Scope.WRITE, ex -> {
      JsonNode body = ex.bodyTree();
      String spec = body.path("spec").asText();
      if (!store(daemon, ex).hasVolume(spec.split("@")[0])) {
        throw new IllegalArgumentException("no volume " + spec);
      }
      Map<String, Object> export = new LinkedHashMap<>();
      export.put("name", body.path("name").asText(spec));
      export.put("spec", spec);
      export.put("readOnly", body.path("readOnly").asBoolean(false));
      export.put("clients", List.of());
      exports.add(export);
      bus.publish("export.added", null, Map.of("name", export.get("name")));
      ex.json(201, export);
    });
    add(router, "GET", "/api/v1/events", Scope.READ, ex -> events(daemon, ex));

    Jobs jobs = realJobs(daemon);
    if (jobs == null) {
      Jobs standIn = new StandInJobs(bus);
      add(router, "GET", "/api/v1/jobs", Scope.READ, ex -> ex.json(200, standIn.list()));
      add(router, "POST", "/api/v1/jobs/{id}/cancel", Scope.WRITE, ex -> ex.json(200, standIn.cancel(ex.path("id"))));
      jobs = standIn;
    }
    return jobs;
  }

  /** Returns the daemon's own job system once the branch that adds {@code Daemon.jobs()} is merged. */
  private static Jobs realJobs(Daemon daemon) {
    try {
      Object jobs = Daemon.class.getMethod("jobs").invoke(daemon);
      return jobs instanceof Jobs j ? j : null;
    } catch (ReflectiveOperationException e) {
      return null;
    }
  }

  /** Returns a pool with its space-savings report under {@code space}. */
  private static Map<String, Object> pool(io.vstore.engine.DesktopPools pools, String name) throws IOException {
    Map<String, Object> out = new LinkedHashMap<>(Exchange.JSON.convertValue(pools.get(name), Map.class));
    out.put("space", pools.report(name));
    return out;
  }

  private static Datastore store(Daemon daemon, Exchange ex) {
    return daemon.byName(ex.query("datastore")).store();
  }

  private static Map<String, Object> datastore(ManagedDatastore ds) {
    DatastoreInfo info = ds.store().info();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("name", ds.name());
    out.putAll(Exchange.JSON.convertValue(info, Map.class));
    return out;
  }

  /** Streams events as server-sent events: {@code id}, {@code event} (the type), {@code data} (the event). */
  private static void events(Daemon daemon, Exchange ex) throws Exception {
    try (EventBus.Subscription sub = daemon.events().subscribe();
        OutputStream out = ex.stream(200, "text/event-stream")) {
      String after = ex.query("after");
      for (Event e : daemon.events().recent(after == null ? Long.MAX_VALUE : Long.parseLong(after))) {
        write(out, e);
      }
      out.write(": connected\n\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      while (true) {
        Event e = sub.poll(1000);
        if (e == null) {
          out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8)); // fails once the client is gone
        } else {
          write(out, e);
        }
        out.flush();
      }
    } catch (IOException gone) {
      // the page went away, or the daemon is closing: the stream just ends
    }
  }

  private static void write(OutputStream out, Event e) throws IOException {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", e.id());
    json.put("time", e.time().toString());
    json.put("type", e.type());
    json.put("datastore", e.datastore());
    json.put("data", e.data());
    out.write(("id: " + e.id() + "\nevent: " + e.type() + "\ndata: " + Exchange.JSON.writeValueAsString(json) + "\n\n")
        .getBytes(StandardCharsets.UTF_8));
  }

  private static void add(Router router, String method, String pattern, Scope scope, RouteHandler handler) {
    String shape = pattern.replaceAll("\\{[^}]*}", "{}");
    for (Route r : router.routes()) {
      if (r.method().equals(method) && r.pattern().replaceAll("\\{[^}]*}", "{}").equals(shape)) {
        return; // the daemon serves it: test against the real route
      }
    }
    router.add(method, pattern, scope, "test-only stand-in", handler);
  }
}
