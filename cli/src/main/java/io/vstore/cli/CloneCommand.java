package io.vstore.cli;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore clone create VOLUME@SNAP NEW [--count N]}: writable linked clones of a snapshot. */
@Command(name = "clone", description = "Create linked clones of a snapshot.", mixinStandardHelpOptions = true,
    subcommands = {CloneCommand.Create.class})
final class CloneCommand {

  @Command(name = "create", description = "Create writable linked clones (O(1) each) sharing every unchanged block.")
  static final class Create implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VOLUME@SNAP", description = "The snapshot to clone.") String snapshot;
    @Parameters(index = "1", paramLabel = "NEW", description = "Name of the clone (the prefix with --count).")
    String name;
    @Option(names = "--count", paramLabel = "N", defaultValue = "0",
        description = "Create N clones named NEW-1 ... NEW-N in one commit.") int count;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = SnapshotRef.parseSnapshot(snapshot, "volume");
      if (count < 0 || count > 100_000) {
        throw new IllegalArgumentException("--count " + count + " must be between 1 and 100000");
      }
      List<String> names = new ArrayList<>();
      if (count == 0) {
        names.add(name);
      } else {
        for (int i = 1; i <= count; i++) {
          names.add(name + "-" + i);
        }
      }
      try (Datastore ds = location.open()) {
        for (Volume v : ds.cloneSnapshot(ref.volume(), ref.snapshot(), names)) {
          v.close();
        }
      }
      spec.commandLine().getOut().println("created " + names.size() + (names.size() == 1 ? " clone " : " clones ")
          + (names.size() == 1 ? names.getFirst() : names.getFirst() + " ... " + names.getLast()) + " of " + snapshot);
      return 0;
    }
  }
}
