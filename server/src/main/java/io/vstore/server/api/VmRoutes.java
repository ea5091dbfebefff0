package io.vstore.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.engine.Pending;
import io.vstore.engine.VirtualMachine;
import io.vstore.engine.VirtualMachines;
import io.vstore.engine.VmSnapshot;
import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.Router;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code /api/v1/vms}: the engine's VM inventory and VM-consistent snapshot trees. Every
 * operation here is quick (thin disks, O(1) snapshots); the inventory serializes them.
 */
final class VmRoutes {
  /**
   * One VM with its disks' figures.
   *
   * @param name its name
   * @param disks its disks' volume names, in order
   * @param config the configuration the user gave, kept as is
   * @param created creation time, ISO-8601
   * @param current the snapshot the disks were last captured as or reverted to, or null
   * @param snapshots the snapshot tree's nodes, oldest first (each names its parent)
   * @param pending the operation a crash interrupted and the daemon could not finish, or null
   * @param volumes the disks' volume figures, in the order of {@code disks}
   */
  record View(String name, List<String> disks, JsonNode config, String created, String current,
      List<VmSnapshot> snapshots, Pending pending, List<VolumeInfo> volumes) {}

  /** The body of {@code POST /api/v1/vms}: the VM's name, its disks' sizes in bytes and its configuration. */
  record Create(String name, List<Long> disks, JsonNode config) {}

  /** The body of {@code POST /api/v1/vms/{name}/snapshots}. */
  record Snapshot(String name, String description) {}

  private VmRoutes() {}

  /** Adds the VM routes. */
  static void register(Router router, DatastoreHost host, EventBus events) {
    Requests.add(router, "GET", "/api/v1/vms", Scope.READ, "List VMs sorted by name.",
        ex -> ex.json(200, vms(ex, host).list()));
    Requests.add(router, "POST", "/api/v1/vms", Scope.WRITE, "Create a VM with one new thin volume per disk size.",
        ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          Create c = Requests.body(ex, Create.class);
          VirtualMachine vm = ds.inventory().vms().create(Requests.required(c.name(), "name"),
              Requests.required(c.disks(), "disks"), c.config());
          events.publish("vm.created", ds.name(), Map.of("vm", vm.name(), "disks", vm.disks()));
          ex.json(201, view(ds, vm));
        });
    Requests.add(router, "GET", "/api/v1/vms/{name}", Scope.READ,
        "Show a VM's disks with their figures, its configuration and its snapshot tree.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          ex.json(200, view(ds, ds.inventory().vms().get(vmName(ex))));
        });
    Requests.add(router, "DELETE", "/api/v1/vms/{name}", Scope.WRITE,
        "Delete a VM, its disks and their snapshots (refused while a pool is built from it).", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String name = vmName(ex);
          ds.inventory().vms().delete(name);
          events.publish("vm.deleted", ds.name(), Map.of("vm", name));
          ex.noContent();
        });
    Requests.add(router, "GET", "/api/v1/vms/{name}/snapshots", Scope.READ,
        "List a VM's snapshot tree's nodes, oldest first.", ex -> ex.json(200, vms(ex, host).snapshots(vmName(ex))));
    Requests.add(router, "POST", "/api/v1/vms/{name}/snapshots", Scope.WRITE,
        "Snapshot every disk of a VM at one instant; the snapshot becomes current.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String vm = vmName(ex);
          Snapshot s = Requests.body(ex, Snapshot.class);
          String snap = Requests.required(s.name(), "name");
          SnapshotRef.checkName("snapshot", snap);
          VmSnapshot created = ds.inventory().vms().snapshot(vm, snap, s.description() == null ? "" : s.description());
          events.publish("vm.snapshot.created", ds.name(), Map.of("vm", vm, "snapshot", snap));
          ex.json(201, created);
        });
    Requests.add(router, "POST", "/api/v1/vms/{name}/snapshots/{snap}/revert", Scope.WRITE,
        "Revert every disk of a VM to a snapshot, which becomes current.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String vm = vmName(ex);
          String snap = Requests.name(ex, "snap", "snapshot");
          requireSnapshot(ds, vm, snap);
          ds.inventory().vms().revert(vm, snap);
          events.publish("vm.snapshot.reverted", ds.name(), Map.of("vm", vm, "snapshot", snap));
          ex.json(200, view(ds, ds.inventory().vms().get(vm)));
        });
    Requests.add(router, "DELETE", "/api/v1/vms/{name}/snapshots/{snap}", Scope.WRITE,
        "Delete a VM snapshot; its children move under its parent.", ex -> {
          ManagedDatastore ds = Requests.datastore(ex, host);
          String vm = vmName(ex);
          String snap = Requests.name(ex, "snap", "snapshot");
          requireSnapshot(ds, vm, snap);
          ds.inventory().vms().deleteSnapshot(vm, snap);
          events.publish("vm.snapshot.deleted", ds.name(), Map.of("vm", vm, "snapshot", snap));
          ex.noContent();
        });
  }

  private static VirtualMachines vms(Exchange ex, DatastoreHost host) {
    return Requests.datastore(ex, host).inventory().vms();
  }

  private static String vmName(Exchange ex) {
    return Requests.name(ex, "name", "VM");
  }

  /**
   * Throws a 404 unless VM {@code vm} has snapshot {@code snap}: the engine says so in an
   * inventory error that only its wording tells apart from a refusal (a 409).
   */
  private static void requireSnapshot(ManagedDatastore ds, String vm, String snap) throws IOException {
    if (ds.inventory().vms().get(vm).snapshot(snap) == null) {
      throw ApiException.notFound("VM " + vm + " has no snapshot " + snap);
    }
  }

  /** Returns {@code vm} with its disks' figures. */
  static View view(ManagedDatastore ds, VirtualMachine vm) throws IOException {
    List<VolumeInfo> volumes = new ArrayList<>();
    for (String d : vm.disks()) {
      volumes.add(ds.store().volumeInfo(d));
    }
    return new View(vm.name(), vm.disks(), vm.config(), vm.created(), vm.current(), vm.snapshots(), vm.pending(),
        volumes);
  }
}
