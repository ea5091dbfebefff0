package io.vstore.cli;

import io.vstore.backup.instant.PointSource;
import io.vstore.server.Daemon;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.exports.ExportInfo;
import io.vstore.server.exports.ExportSource;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vstore backup mount POINT --repo REPO [--name NAME]}: exports a backup point read-only
 * over the daemon's NBD server, for file-level restore with the kernel's or qemu's NBD client. The
 * export lasts until {@code backup umount NAME} (or {@code export remove NAME}) or the daemon stops.
 */
@Command(name = "mount", mixinStandardHelpOptions = true,
    description = "Export a backup point read-only over NBD (through the daemon) for file-level restore.")
final class BackupMountCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin DatastoreLocation location;
  @Parameters(index = "0", paramLabel = "POINT", description = "The point's id or a unique prefix.") String point;
  @Mixin BackupRepoOptions repoOptions;
  @Option(names = "--name", paramLabel = "NAME", description = "The export name (default: backup-ID, the point's "
      + "id shortened to 12 characters).") String name;

  @Override
  public Integer call() throws Exception {
    Path passphraseFile = repoOptions.passphraseFile;
    Path keyFile = repoOptions.keyFile;
    if (passphraseFile != null && keyFile != null) {
      throw new IllegalArgumentException("give --passphrase-file or --key-file, not both");
    }
    Daemon daemon = BackupMounts.daemon("backup mount");
    ManagedDatastore ds = location.managed();
    String where = DaemonContext.path(repoOptions.repo).toAbsolutePath().normalize().toString();
    Path file = passphraseFile != null ? DaemonContext.path(passphraseFile.toString())
        : keyFile != null ? DaemonContext.path(keyFile.toString()) : null;
    PointSource source = PointSource.open(where, InstantRestores.key(file, passphraseFile != null), point);
    String id = source.pointId();
    String export = name != null ? name : "backup-" + id.substring(0, Math.min(12, id.length()));
    // addOpened closes the source if it fails.
    ExportInfo info = daemon.exports().addOpened(ds.name(), export,
        new ExportSource.DeviceSource("backup:" + where + ":" + id, BackupMounts.KIND), source, true);
    PrintWriter out = spec.commandLine().getOut();
    out.println("mounted point " + id + " read-only as " + info.uri() + " (" + Sizes.format(info.size()) + ")");
    out.println("  e.g. qemu-nbd -c /dev/nbd0 -r " + info.uri() + ", or nbdfuse; remove with vstore backup umount "
        + export);
    return 0;
  }
}
