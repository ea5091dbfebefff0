package io.vstore.cli;

import io.vstore.engine.Inventory;
import io.vstore.engine.InventoryException;
import io.vstore.engine.VirtualMachine;
import io.vstore.engine.VmTransfer;
import io.vstore.engine.move.MoveRecord;
import io.vstore.engine.move.VmMove;
import io.vstore.engine.move.VolumeMove;
import io.vstore.server.Daemon;
import io.vstore.server.ManagedDatastore;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * The daemon's side of {@code vstore migrate VM}: moves a VM's disks one after another between two
 * datastores it owns, repointing each disk's NBD exports at its switch-over and announcing each
 * disk as an event; at daemon start, takes up every VM move a datastore records as running (the
 * disk being moved from its own persisted progress).
 */
final class VmMigrations {
  private static final System.Logger LOG = System.getLogger(VmMigrations.class.getName());

  private VmMigrations() {}

  /** Returns whether {@code source}'s inventory has a VM {@code name}. */
  static boolean isVm(ManagedDatastore source, String name) {
    return source.inventory().vms().list().stream().anyMatch(vm -> vm.name().equals(name));
  }

  /** Starts moving VM {@code vm} from {@code source} to {@code destination} (checks it can). */
  static VmMove start(Daemon daemon, ManagedDatastore source, ManagedDatastore destination, String vm,
      long rateLimit, boolean flatten) throws IOException {
    for (String disk : source.inventory().vms().get(vm).disks()) {
      if (source.store().hasVolume(disk)) {
        daemon.replicas().replicas().checkMovable(source.path(), disk);
      }
    }
    return VmMove.start(source.inventory(), destination.inventory(), vm, rateLimit, flatten);
  }

  /**
   * Runs {@code move} to its end (or to the disk after which a cancel stops it).
   *
   * @param progress hears the bytes done of {@link VmMove#totalWork()}; throws
   *     {@link java.util.concurrent.CancellationException} to stop after the current disk
   * @param out hears one line per disk moved, or null
   */
  static VmMove.Result execute(Daemon daemon, ManagedDatastore source, ManagedDatastore destination, VmMove move,
      LongConsumer progress, PrintWriter out) throws IOException {
    String vm = move.vm();
    daemon.events().publish("migrate.started", source.name(), Map.of("vm", vm, "to", destination.name()));
    VmMove.Listener listener = new VmMove.Listener() {
      private int count;
      private int index;

      @Override
      public void progress(long done, long total) {
        progress.accept(done);
      }

      @Override
      public void diskStarted(String disk, int index, int count) {
        this.index = index;
        this.count = count;
      }

      @Override
      public void switched(String disk, MoveRecord record) throws IOException {
        List<String> exports = daemon.exports().moveVolume(source.name(), disk, destination.name());
        daemon.replicas().replicas().volumeMoved(source.path(), disk, destination.path());
        daemon.events().publish("migrate.switched", destination.name(), Map.of("vm", vm, "volume", disk,
            "from", source.name(), "exports", exports));
      }

      @Override
      public void diskMoved(String disk, VolumeMove.Result r) {
        Map<String, Object> data = new LinkedHashMap<>(Migrations.result(r));
        data.put("vm", vm);
        daemon.events().publish("migrate.disk", destination.name(), data);
        if (out != null) {
          out.println("moved disk " + disk + " (" + (index + 1) + " of " + count + ") of VM " + vm + ": copied "
              + Sizes.format(r.copiedBytes()) + ", writes held " + String.format("%.1f", r.switchPauseNanos() / 1e6)
              + " ms at the switch-over");
          out.flush();
        }
      }
    };
    VmMove.Result r;
    try {
      r = move.run(listener, () -> daemon.jobs().isStopping());
    } catch (IOException | RuntimeException e) {
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("vm", vm);
      data.put("to", destination.name());
      data.put("error", e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
      data.put("resumable", daemon.jobs().isStopping());
      daemon.events().publish("migrate.failed", source.name(), data);
      throw e;
    }
    daemon.events().publish(r.split() ? "migrate.stopped" : "migrate.finished", destination.name(), result(r));
    return r;
  }

  /** Returns the figures of a VM move, as the job's result and the event's data. */
  static Map<String, Object> result(VmMove.Result r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("vm", r.vm());
    m.put("from", r.from());
    m.put("to", r.to());
    m.put("split", r.split());
    m.put("disks", r.disks().stream().map(Migrations::result).toList());
    m.put("skipped", r.skipped());
    return m;
  }

  /**
   * Returns the disks of {@code source} that a running VM move owns: their own moves are taken up
   * by the VM's, not on their own.
   */
  static Set<String> ownedDisks(ManagedDatastore source) {
    Set<String> out = new HashSet<>();
    for (VirtualMachine vm : source.inventory().vms().list()) {
      try {
        Optional<VmTransfer.Plan> plan = VmTransfer.of(vm);
        if (plan.isPresent() && plan.get().running() && same(plan.get().from(), source.path())) {
          out.addAll(vm.disks());
        }
      } catch (InventoryException e) {
        LOG.log(Level.WARNING, e.getMessage());
      }
    }
    return out;
  }

  /** Takes up, as jobs, every running VM move whose source datastore this daemon owns. */
  static void resumeAll(Daemon daemon) {
    for (ManagedDatastore source : daemon.all()) {
      for (VirtualMachine vm : source.inventory().vms().list()) {
        VmTransfer.Plan plan;
        try {
          Optional<VmTransfer.Plan> p = VmTransfer.of(vm);
          if (p.isEmpty() || !p.get().running() || !same(p.get().from(), source.path())) {
            continue;
          }
          plan = p.get();
        } catch (InventoryException e) {
          LOG.log(Level.WARNING, e.getMessage());
          continue;
        }
        try {
          ManagedDatastore destination = daemon.find(plan.to()).orElseThrow(() ->
              new IllegalStateException("this daemon does not own the destination " + plan.to()));
          Inventory from = source.inventory();
          Inventory to = destination.inventory();
          VmMove move = VmMove.resume(from, to, plan);
          long total = Math.max(1, move.totalWork());
          daemon.jobs().submit(source.name(), Migrations.JOB_KIND, vm.name(), true, ctx ->
              result(execute(daemon, source, destination, move, done -> {
                ctx.checkCancelled();
                ctx.update(done, total);
              }, null)));
          LOG.log(Level.INFO, "resumed the move of VM " + vm.name() + " to " + plan.to());
        } catch (IOException | RuntimeException e) {
          String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
          LOG.log(Level.WARNING, "cannot resume the move of VM " + vm.name() + ": " + reason);
          daemon.events().publish("migrate.skipped", source.name(), Map.of("vm", vm.name(), "reason", reason));
        }
      }
    }
  }

  private static boolean same(Path a, Path b) {
    return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
  }
}
