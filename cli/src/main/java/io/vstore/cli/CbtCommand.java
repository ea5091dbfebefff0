package io.vstore.cli;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.ChangePin;
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

/**
 * {@code vstore cbt changes VOLUME[@SNAP] --since CHANGEID}, {@code cbt pin|unpin|pins}:
 * changed-block tracking and the pins that keep change ids answerable.
 */
@Command(name = "cbt", description = "Changed-block tracking. A change id stays answerable while it is pinned, "
    + "a snapshot's, or among its volume's 16 newest generations; older history is merged.",
    mixinStandardHelpOptions = true,
    subcommands = {CbtCommand.Changes.class, CbtCommand.Pin.class, CbtCommand.Pins.class, CbtCommand.Unpin.class})
final class CbtCommand {

  @Command(name = "changes", description = "List the areas of a volume or snapshot changed since a change id "
      + "('*' for every area holding data). JSON: {\"changeId\": ..., \"extents\": [{\"offset\", \"length\"}]}.")
  static final class Changes implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
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

  @Command(name = "pin", description = "Pin a change id so that 'cbt changes --since' it stays answerable until "
      + "unpinned (refused if it is no longer tracked). JSON: the pin {\"volume\", \"changeId\", \"label\", \"created\"}.")
  static final class Pin implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "CHANGEID", description = "A change id from 'volume info' or 'cbt changes'.")
    String changeId;
    @Option(names = "--name", paramLabel = "LABEL",
        description = "Name the pin (unique in the datastore, no '/'): unpin it by this name.") String label;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        output.print(ds.pinChangeId(changeId, label), (out, p) -> printPins(out, java.util.List.of(p)));
      }
      return 0;
    }
  }

  @Command(name = "unpin", description = "Remove every pin of a change id, or the pin of a name; the history it kept "
      + "apart is merged. JSON: the removed pins.")
  static final class Unpin implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "CHANGEID|LABEL", description = "A pinned change id, or a pin's name.")
    String pin;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        output.print(ds.unpinChangeId(pin), CbtCommand::printPins);
      }
      return 0;
    }
  }

  @Command(name = "pins", description = "List the pinned change ids (snapshots' change ids are kept too: "
      + "see 'snapshot list'). JSON: [{\"volume\", \"changeId\", \"label\", \"created\"}].")
  static final class Pins implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VOLUME", arity = "0..1", description = "Only this volume's pins.")
    String volume;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        List<ChangePin> pins = new ArrayList<>(ds.changePins(volume));
        pins.sort(java.util.Comparator.comparing(ChangePin::volume, NaturalOrder.INSTANCE)); // stable: by generation
        output.print(pins, CbtCommand::printPins);
      }
      return 0;
    }
  }

  /** Prints {@code pins} as a table. */
  static void printPins(PrintWriter out, List<ChangePin> pins) {
    out.printf("%-20s %-50s %-20s %s%n", "VOLUME", "CHANGE ID", "NAME", "PINNED");
    for (ChangePin p : pins) {
      out.printf("%-20s %-50s %-20s %s%n", p.volume(), p.changeId(), p.label().isEmpty() ? "-" : p.label(),
          p.created());
    }
  }
}
