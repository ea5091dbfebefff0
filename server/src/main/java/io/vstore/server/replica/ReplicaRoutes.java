package io.vstore.server.replica;

import io.vstore.server.DatastoreHost;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Router;
import java.nio.file.Path;

/** The {@code /api/v1/replicas} resource: list, create, show, pause, resume, promote and remove pairs. */
public final class ReplicaRoutes {
  /**
   * The body of {@code POST /api/v1/replicas}.
   *
   * @param volume the volume to replicate (a name that is a VM of the datastore's inventory and no
   *     volume is the VM)
   * @param vm a VM whose every disk to replicate, instead of {@code volume} (pairs {@code id-N})
   * @param to another datastore of the daemon (its directory or name) or {@code nbd://HOST:PORT/EXPORT}
   * @param id the pair's id (default: generated)
   * @param datastore the datastore holding the volume, by name or directory (default: the daemon's first)
   */
  record CreateRequest(String volume, String vm, String to, String id, String datastore) {}

  private ReplicaRoutes() {}

  /** Adds the replica routes to {@code router}. */
  public static void register(Router router, ReplicaService service, DatastoreHost host) {
    router.add("GET", "/api/v1/replicas", Scope.READ, "The replica pairs with their state, lag and bytes behind.",
        ex -> ex.json(200, service.replicas().list()));
    router.add("POST", "/api/v1/replicas", Scope.WRITE, "Replicate a volume (or every disk of a VM) synchronously to a datastore or NBD export.",
        ex -> {
          CreateRequest req = ex.body(CreateRequest.class);
          if (req.volume() == null && req.vm() == null || req.to() == null) {
            throw ApiException.badRequest("volume (or vm) and to are required");
          }
          String fromName = req.datastore() != null ? req.datastore() : ex.query("datastore");
          ManagedDatastore from = fromName == null ? host.byName(null) : target(host, fromName);
          String to = req.to();
          if (!to.startsWith("nbd://") && !to.startsWith("nbds://")) {
            to = target(host, to).path().toString();
          }
          String vm = req.vm() != null ? req.vm()
              : !from.store().hasVolume(req.volume()) && from.inventory().vms().list().stream()
                  .anyMatch(v -> v.name().equals(req.volume())) ? req.volume() : null;
          if (vm != null) {
            // Every disk of the VM, all or none: one pair per disk.
            ex.json(201, service.replicas().createAll(from.path(), from.inventory().vms().get(vm).disks(), to, req.id()));
            return;
          }
          ex.json(201, service.replicas().create(from.path(), req.volume(), to, req.id()));
        });
    router.add("GET", "/api/v1/replicas/{id}", Scope.READ, "Both sides of one replica pair held by this daemon.",
        ex -> ex.json(200, service.replicas().info(ex.path("id"))));
    router.add("POST", "/api/v1/replicas/{id}/pause", Scope.WRITE,
        "Stop mirroring; the change log keeps what the secondary lacks.",
        ex -> ex.json(200, service.replicas().pause(ex.path("id"))));
    router.add("POST", "/api/v1/replicas/{id}/resume", Scope.WRITE,
        "Reconnect and send only what the secondary lacks.",
        ex -> ex.json(200, service.replicas().resume(ex.path("id"))));
    router.add("POST", "/api/v1/replicas/{id}/promote", Scope.WRITE,
        "Make the secondary writable and raise the epoch: the old primary's next write is refused.",
        ex -> ex.json(200, service.replicas().promote(ex.path("id"))));
    router.add("DELETE", "/api/v1/replicas/{id}", Scope.WRITE,
        "Remove a pair: its records, pins and write guards; both volumes stay.",
        ex -> ex.json(200, service.replicas().remove(ex.path("id"))));
  }

  private static ManagedDatastore target(DatastoreHost host, String to) {
    Path p = Path.of(to);
    if (p.isAbsolute()) {
      return host.find(p).orElseThrow(() -> ApiException.badRequest("datastore " + to + " is not owned by this daemon"));
    }
    return host.byName(to);
  }
}
