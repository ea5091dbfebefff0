package io.vstore.cli;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore snapshot ...}: point-in-time, read-only copies of a volume, named VOLUME@SNAP. */
@Command(name = "snapshot", description = "Create, list, revert to and delete volume snapshots (VOLUME@SNAP).",
    mixinStandardHelpOptions = true,
    subcommands = {SnapshotCommand.Create.class, SnapshotCommand.ListCmd.class, SnapshotCommand.Revert.class,
        SnapshotCommand.Delete.class})
final class SnapshotCommand {

  @Command(name = "create", description = "Snapshot a volume (O(1), whatever its size).")
  static final class Create implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VOLUME@SNAP", description = "The volume and the new snapshot's name.")
    String snapshot;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = SnapshotRef.parseSnapshot(snapshot, "volume");
      try (Datastore ds = location.open()) {
        output.print(ds.createSnapshot(ref.volume(), ref.snapshot()),
            (out, s) -> out.println("created snapshot " + snapshot + " (change id " + s.changeId() + ")"));
      }
      return 0;
    }
  }

  @Command(name = "list", description = "List snapshots, oldest first, with their space figures: a volume's, or "
      + "every volume's (in natural order) without VOLUME.")
  static final class ListCmd implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VOLUME", arity = "0..1", description = "Only this volume's snapshots.")
    String volume;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        List<SnapshotInfo> all = new ArrayList<>();
        if (volume != null) {
          all.addAll(ds.snapshots(volume));
        } else {
          all.addAll(ds.snapshots()); // one consistent listing; then volumes in natural order (a stable sort)
          all.sort(java.util.Comparator.comparing(SnapshotInfo::volume, NaturalOrder.INSTANCE));
        }
        output.print(all, ListCmd::print);
      }
      return 0;
    }

    /** Prints {@code list} as a table. */
    static void print(PrintWriter out, List<SnapshotInfo> list) {
      out.printf("%-40s %10s %10s %10s  %s%n", "SNAPSHOT", "DATA", "UNIQUE", "SHARED", "CLONES");
      for (SnapshotInfo s : list) {
        out.printf("%-40s %10s %10s %10s  %s%n", new SnapshotRef(s.volume(), s.name()), Sizes.format(s.allocated()),
            Sizes.format(s.unique()), Sizes.format(s.shared()), String.join(",", s.clones()));
      }
    }
  }

  @Command(name = "revert", description = "Make a volume hold what one of its snapshots holds (the snapshot stays).")
  static final class Revert implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VOLUME@SNAP", description = "The snapshot.") String snapshot;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = SnapshotRef.parseSnapshot(snapshot, "volume");
      try (Datastore ds = location.open()) {
        ds.revert(ref.volume(), ref.snapshot());
        spec.commandLine().getOut().println("reverted volume " + ref.volume() + " to " + snapshot);
      }
      return 0;
    }
  }

  @Command(name = "delete", description = "Delete a snapshot, reclaiming what only it holds (refused while it has clones).")
  static final class Delete implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VOLUME@SNAP", description = "The snapshot.") String snapshot;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = SnapshotRef.parseSnapshot(snapshot, "volume");
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        String owner = s.inventory.owner(ref.volume(), ref.snapshot());
        if (owner != null) {
          throw new IllegalStateException("snapshot " + snapshot + " belongs to " + owner + "; delete it through 'vstore "
              + (owner.startsWith("VM") ? "vm" : "pool") + "'");
        }
        s.store.deleteSnapshot(ref.volume(), ref.snapshot());
        spec.commandLine().getOut().println("deleted snapshot " + snapshot);
      }
      return 0;
    }
  }
}
