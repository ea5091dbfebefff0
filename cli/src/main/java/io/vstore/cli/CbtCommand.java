package io.vstore.cli;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.ChangedAreas;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vstore cbt changes VOLUME[@SNAP] --since CHANGEID}: changed-block tracking. */
@Command(name = "cbt", description = "Changed-block tracking.", mixinStandardHelpOptions = true,
    subcommands = {CbtCommand.Changes.class})
final class CbtCommand {

  @Command(name = "changes", description = "List the areas of a volume or snapshot changed since a change id "
      + "('*' for every area holding data). JSON: {\"changeId\": ..., \"extents\": [{\"offset\", \"length\"}]}.")
  static final class Changes implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "VOLUME[@SNAP]", description = "The volume or snapshot.") String device;
    @Option(names = "--since", required = true, paramLabel = "CHANGEID",
        description = "A change id from 'volume info' or 'snapshot list', or '*'.") String since;
    @Option(names = "--offset", paramLabel = "BYTES", defaultValue = "0", description = "Start of the range asked about.")
    long offset;
    @Option(names = "--length", paramLabel = "BYTES", description = "Length of the range (default: to the end).")
    Long length;
    @Mixin OutputOptions output;

    /** What changed: the change id to ask from next time and the changed areas, in order. */
    record Result(String changeId, List<Area> extents) {}

    /** One changed area. */
    record Area(long offset, long length) {}

    @Override
    public Integer call() throws Exception {
      String ref = SnapshotRef.parse(device).toString(); // a malformed name fails before the datastore opens
      try (Datastore ds = location.open()) {
        long size;
        try (Volume v = ds.volume(ref, true)) {
          size = v.size();
        }
        long len = length != null ? length : Math.max(0, size - offset);
        ChangedAreas changes = ds.changedAreas(ref, since, offset, len);
        List<Area> areas = new ArrayList<>();
        for (Extent e : changes.extents()) {
          areas.add(new Area(e.offset(), e.length()));
        }
        output.print(new Result(changes.changeId(), areas), Changes::print);
      }
      return 0;
    }

    /** Prints {@code c} as one "offset length" line per area and a summary comment. */
    static void print(PrintWriter out, Result c) {
      long total = 0;
      for (Area a : c.extents()) {
        out.println(a.offset() + " " + a.length());
        total += a.length();
      }
      out.println("# " + c.extents().size() + " extents, " + Sizes.format(total) + " changed; change id now "
          + c.changeId());
    }
  }
}
