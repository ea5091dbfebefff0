package io.vstore.cli;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.ChangedAreas;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore cbt changes VOLUME[@SNAP] --since CHANGEID}: changed-block tracking. */
@Command(name = "cbt", description = "Changed-block tracking.", mixinStandardHelpOptions = true,
    subcommands = {CbtCommand.Changes.class})
final class CbtCommand {

  @Command(name = "changes", description = "List the areas of a volume or snapshot changed since a change id "
      + "('*' for every area holding data).")
  static final class Changes implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "VOLUME[@SNAP]") String device;
    @Option(names = "--since", required = true, paramLabel = "CHANGEID",
        description = "A change id from 'volume info' or 'snapshot list', or '*'.") String since;
    @Option(names = "--offset", paramLabel = "BYTES", defaultValue = "0", description = "Start of the range asked about.")
    long offset;
    @Option(names = "--length", paramLabel = "BYTES", description = "Length of the range (default: to the end).")
    Long length;
    @Option(names = "--json", description = "Print JSON: {\"changeId\": ..., \"extents\": [{\"offset\", \"length\"}]}.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      String ref = SnapshotRef.parse(device).toString(); // a malformed name fails before the datastore opens
      try (Datastore ds = location.open()) {
        long size;
        try (Volume v = ds.volume(ref, true)) {
          size = v.size();
        }
        long len = length != null ? length : Math.max(0, size - offset);
        ChangedAreas changes = ds.changedAreas(ref, since, offset, len);
        if (json) {
          List<Map<String, Long>> extents = new ArrayList<>();
          for (Extent e : changes.extents()) {
            Map<String, Long> m = new LinkedHashMap<>();
            m.put("offset", e.offset());
            m.put("length", e.length());
            extents.add(m);
          }
          Map<String, Object> result = new LinkedHashMap<>();
          result.put("changeId", changes.changeId());
          result.put("extents", extents);
          Output.json(out, result);
          return 0;
        }
        long total = 0;
        for (Extent e : changes.extents()) {
          out.println(e.offset() + " " + e.length());
          total += e.length();
        }
        out.println("# " + changes.extents().size() + " extents, " + Sizes.format(total) + " changed; change id now "
            + changes.changeId());
      }
      return 0;
    }
  }
}
