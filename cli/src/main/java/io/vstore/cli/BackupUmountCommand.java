package io.vstore.cli;

import io.vstore.server.Daemon;
import io.vstore.server.exports.ExportInfo;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore backup umount NAME [--force]}: removes the export of a mounted backup point. */
@Command(name = "umount", mixinStandardHelpOptions = true, description = "Remove the NBD export of a mounted backup point.")
final class BackupUmountCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin DatastoreLocation location;
  @Parameters(index = "0", paramLabel = "NAME", description = "The export name backup mount printed.") String name;
  @Option(names = "--force", description = "Disconnect connected clients.") boolean force;

  @Override
  public Integer call() throws Exception {
    Daemon daemon = BackupMounts.daemon("backup umount");
    if (!daemon.exports().has(name)) {
      throw new IllegalArgumentException("no export " + name);
    }
    ExportInfo info = daemon.exports().get(name);
    if (!BackupMounts.KIND.equals(info.kind())) {
      throw new IllegalArgumentException("export " + name + " is no mounted backup point (it serves " + info.spec()
          + "): remove it with vstore export remove " + name);
    }
    daemon.exports().remove(name, force);
    spec.commandLine().getOut().println("unmounted " + name);
    return 0;
  }
}
