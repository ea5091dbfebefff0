package io.vstore.cli;

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
 * {@code vstore migrate VOLUME --to DATASTORE [--rate-limit BYTES/S] [--flatten]}: moves a volume
 * that clients keep using to another datastore of the same daemon (storage VMotion), as a job.
 */
@Command(name = "migrate", mixinStandardHelpOptions = true,
    description = {"Move a volume, while clients use it over NBD, to another datastore of the same daemon.",
        "One copy pass of the allocated data; writes to what is already copied are mirrored; the switch-over "
            + "holds writes for a moment, the NBD exports follow the volume, and the source is deleted once a "
            + "checksum comparison of both sides succeeds. 'vstore job cancel ID' aborts before the switch."})
final class MigrateCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin DatastoreLocation location;
  @Mixin OutputOptions output;
  @Parameters(index = "0", paramLabel = "VOLUME", description = "The volume to move (in the -D datastore).")
  String volume;
  @Option(names = "--to", required = true, paramLabel = "DATASTORE",
      description = "The destination datastore's directory; the daemon must own it (vstore serve -D A -D B).")
  String to;
  @Option(names = "--rate-limit", paramLabel = "BYTES/S", defaultValue = "0",
      description = "Limit the copy pass to this many bytes a second (such as 200M); client writes are never limited.")
  long rateLimit;
  @Option(names = "--flatten", description = "Move a linked clone whose parent stays as a flat copy of what it reads.")
  boolean flatten;

  @Override
  public Integer call() throws Exception {
    DaemonContext context = DaemonContext.current().orElseThrow(() -> new IllegalStateException(
        "vstore migrate runs in the daemon that owns both datastores: start vstore serve -D SOURCE -D DESTINATION"));
    if (!(context.host() instanceof Daemon daemon)) {
      throw new IllegalStateException("vstore migrate needs the daemon's NBD exports and jobs");
    }
    ManagedDatastore source = location.managed();
    ManagedDatastore destination = context.datastore(DaemonContext.path(to));
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
}
