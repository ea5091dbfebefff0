package io.vstore.cli;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore snapshot ...}: point-in-time, read-only copies of a volume, named VOLUME@SNAP. */
@Command(name = "snapshot", description = "Create, list, revert to and delete volume snapshots (VOLUME@SNAP).",
    mixinStandardHelpOptions = true,
    subcommands = {SnapshotCommand.Create.class, SnapshotCommand.ListCmd.class, SnapshotCommand.Revert.class,
        SnapshotCommand.Delete.class})
final class SnapshotCommand {

  /** Splits {@code VOLUME@SNAP}, or fails saying what was expected. */
  static String[] split(String spec) {
    int at = spec.indexOf('@');
    if (at <= 0 || at == spec.length() - 1 || spec.indexOf('@', at + 1) >= 0) {
      throw new IllegalArgumentException("'" + spec + "' is not a snapshot: expected VOLUME@SNAPSHOT");
    }
    return new String[] {spec.substring(0, at), spec.substring(at + 1)};
  }

  @Command(name = "create", description = "Snapshot a volume (O(1), whatever its size).")
  static final class Create implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "VOLUME@SNAP") String snapshot;
    @Option(names = "--json", description = "Print JSON.") boolean json;

    @Override
    public Integer call() throws Exception {
      String[] parts = split(snapshot);
      try (Datastore ds = location.open()) {
        SnapshotInfo s = ds.createSnapshot(parts[0], parts[1]);
        if (json) {
          Output.json(spec.commandLine().getOut(), s);
        } else {
          spec.commandLine().getOut().println("created snapshot " + snapshot + " (change id " + s.changeId() + ")");
        }
      }
      return 0;
    }
  }

  @Command(name = "list", description = "List a volume's snapshots, oldest first, with their space figures.")
  static final class ListCmd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "VOLUME") String volume;
    @Option(names = "--json", description = "Print JSON.") boolean json;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      try (Datastore ds = location.open()) {
        List<SnapshotInfo> list = ds.snapshots(volume);
        if (json) {
          Output.json(out, list);
          return 0;
        }
        out.printf("%-40s %10s %10s %10s  %s%n", "SNAPSHOT", "DATA", "UNIQUE", "SHARED", "CLONES");
        for (SnapshotInfo s : list) {
          out.printf("%-40s %10s %10s %10s  %s%n", s.volume() + "@" + s.name(), Sizes.format(s.allocated()),
              Sizes.format(s.unique()), Sizes.format(s.shared()), String.join(",", s.clones()));
        }
      }
      return 0;
    }
  }

  @Command(name = "revert", description = "Make a volume hold what one of its snapshots holds (the snapshot stays).")
  static final class Revert implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "VOLUME@SNAP") String snapshot;

    @Override
    public Integer call() throws Exception {
      String[] parts = split(snapshot);
      try (Datastore ds = location.open()) {
        ds.revert(parts[0], parts[1]);
        spec.commandLine().getOut().println("reverted volume " + parts[0] + " to " + snapshot);
      }
      return 0;
    }
  }

  @Command(name = "delete", description = "Delete a snapshot, reclaiming what only it holds (refused while it has clones).")
  static final class Delete implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "VOLUME@SNAP") String snapshot;

    @Override
    public Integer call() throws Exception {
      String[] parts = split(snapshot);
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        String owner = s.inventory.owner(parts[0], parts[1]);
        if (owner != null) {
          throw new IllegalStateException("snapshot " + snapshot + " belongs to " + owner + "; delete it through 'vstore "
              + (owner.startsWith("VM") ? "vm" : "pool") + "'");
        }
        s.store.deleteSnapshot(parts[0], parts[1]);
        spec.commandLine().getOut().println("deleted snapshot " + snapshot);
      }
      return 0;
    }
  }
}
