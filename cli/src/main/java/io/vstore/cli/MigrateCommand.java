package io.vstore.cli;

import io.vstore.engine.move.VmMove;
import io.vstore.engine.move.VolumeMove;
import io.vstore.server.Daemon;
import io.vstore.server.ManagedDatastore;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vstore migrate VOLUME|VM --to DATASTORE [--rate-limit BYTES/S] [--flatten] [--vm]}: moves a
 * volume, or every disk of a VM one after another, that clients keep using to another datastore of
 * the same daemon (storage VMotion), as a job.
 */
@Command(name = "migrate", mixinStandardHelpOptions = true,
    description = {"Move a volume, or a VM's disks one after another, while clients use them over NBD, to another "
        + "datastore of the same daemon.",
        "One copy pass of the allocated data; writes to what is already copied are mirrored; the switch-over "
            + "holds writes for a moment, the NBD exports follow the volume, and the source is deleted once a "
            + "checksum comparison of both sides succeeds. 'vstore job cancel ID' aborts before the switch.",
        "A VM's inventory record follows its disks. Cancelling a VM's move lets the disk being moved finish and "
            + "stops there: each disk is in one datastore only, and the VM refuses its other operations until "
            + "another migrate of it, to either datastore, ends the split."})
final class MigrateCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin DatastoreLocation location;
  @Mixin OutputOptions output;
  @Parameters(index = "0", paramLabel = "VOLUME|VM",
      description = "The volume or VM to move (in the -D datastore); a name that is a VM and no volume is the VM.")
  String volume;
  @Option(names = "--to", required = true, paramLabel = "DATASTORE",
      description = "The destination datastore's directory; the daemon must own it (vstore serve -D A -D B).")
  String to;
  @Option(names = "--rate-limit", paramLabel = "BYTES/S", defaultValue = "0",
      description = "Limit the copy pass to this many bytes a second (such as 200M); client writes are never limited.")
  long rateLimit;
  @Option(names = "--flatten", description = "Move a linked clone whose parent stays as a flat copy of what it reads"
      + " (for a VM: every disk that is one).")
  boolean flatten;
  @Option(names = "--vm", description = "The name is a VM's (needed only when a volume has the same name).")
  boolean vm;

  @Override
  public Integer call() throws Exception {
    DaemonContext context = DaemonContext.current().orElseThrow(() -> new IllegalStateException(
        "vstore migrate runs in the daemon that owns both datastores: start vstore serve -D SOURCE -D DESTINATION"));
    if (!(context.host() instanceof Daemon daemon)) {
      throw new IllegalStateException("vstore migrate needs the daemon's NBD exports and jobs");
    }
    ManagedDatastore source = location.managed();
    ManagedDatastore destination = context.datastore(DaemonContext.path(to));
    if (vm || !source.store().hasVolume(volume) && VmMigrations.isVm(source, volume)) {
      return migrateVm(daemon, source, destination);
    }
    long size = source.store().volumeInfo(volume).size();
    VolumeMove.Result r;
    try (Progress progress = new Progress("migrate " + volume, 2 * size, spec.commandLine().getErr(), false)) {
      r = Migrations.migrate(daemon, source, destination, volume, rateLimit, flatten, progress::accept);
    }
    output.print(Migrations.result(r), (out, m) -> out.println("moved volume " + volume + " to " + destination.path()
        + ": copied " + Sizes.format(r.copiedBytes()) + " of " + Sizes.format(r.allocatedBytes()) + " allocated, mirrored "
        + Sizes.format(r.mirroredBytes()) + ", writes held " + String.format("%.1f", r.switchPauseNanos() / 1e6)
        + " ms at the switch-over, verified " + Sizes.format(r.verifiedBytes())));
    return 0;
  }

  private int migrateVm(Daemon daemon, ManagedDatastore source, ManagedDatastore destination) throws Exception {
    VmMove move = VmMigrations.start(daemon, source, destination, volume, rateLimit, flatten);
    VmMove.Result r;
    try (Progress progress = new Progress("migrate VM " + volume, move.totalWork(), spec.commandLine().getErr(), false)) {
      r = VmMigrations.execute(daemon, source, destination, move, progress::accept,
          output.json ? null : spec.commandLine().getOut());
    }
    output.print(VmMigrations.result(r), (out, m) -> out.println(r.split()
        ? "stopped the move of VM " + volume + " after " + r.disks().size() + " disk(s): its disks are split between "
            + r.from() + " and " + r.to() + "; vstore migrate " + volume + " --to either of them ends the split"
        : "moved VM " + volume + " to " + destination.path() + ": " + r.disks().size() + " disk(s) moved"
            + (r.skipped().isEmpty() ? "" : ", " + r.skipped().size() + " already there")));
    return 0;
  }
}
