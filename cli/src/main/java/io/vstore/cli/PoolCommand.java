package io.vstore.cli;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.engine.Desktop;
import io.vstore.engine.DesktopPool;
import io.vstore.engine.PoolReport;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore pool ...}: linked-clone desktop pools. */
@Command(name = "pool", description = "Linked-clone desktop pools: create, list, info, set, recompose, refresh, "
    + "rebalance, delete.",
    mixinStandardHelpOptions = true,
    subcommands = {PoolCommand.Create.class, PoolCommand.ListCmd.class, PoolCommand.Info.class, PoolCommand.SetCmd.class,
        PoolCommand.Recompose.class, PoolCommand.Refresh.class, PoolRebalanceCommand.class, PoolCommand.Delete.class})
final class PoolCommand {

  @Command(name = "create", description = "Create a pool of linked-clone desktops from a VM snapshot.")
  static final class Create implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The pool.") String name;
    @Option(names = "--from", paramLabel = "VM@SNAP", required = true, description = "The base VM snapshot.")
    String from;
    @Option(names = "--count", paramLabel = "N", required = true, description = "Number of desktops.") int count;
    @Option(names = "--persistent-disk", paramLabel = "SIZE", defaultValue = "0",
        description = "Give each desktop a data disk of this size that survives recompose and refresh.")
    long persistent;
    @Option(names = "--disposable-disk", paramLabel = "SIZE", defaultValue = "0",
        description = "Give each desktop a scratch disk of this size, emptied at refresh.")
    long disposable;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = EngineSession.vmSnapshot(from);
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        DesktopPool p = s.inventory.pools().create(name, ref.volume(), ref.snapshot(), count, persistent, disposable);
        spec.commandLine().getOut().println("created pool " + p.name() + ": " + p.desktops().size()
            + " desktops from " + p.base() + " (replica " + String.join(", ", p.replica()) + ")");
      }
      return 0;
    }
  }

  @Command(name = "list", description = "List pools with their space savings.")
  static final class ListCmd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        List<PoolReport> reports = new ArrayList<>();
        for (DesktopPool p : s.inventory.pools().list()) {
          reports.add(s.inventory.pools().report(p.name()));
        }
        output.print(reports, ListCmd::print);
      }
      return 0;
    }

    /** Prints {@code reports} as a table. */
    static void print(PrintWriter out, List<PoolReport> reports) {
      out.printf("%-24s %-32s %8s %12s %12s %8s%n", "NAME", "BASE", "DESKTOPS", "PROVISIONED", "ALLOCATED", "RATIO");
      for (PoolReport r : reports) {
        out.printf(Locale.ROOT, "%-24s %-32s %8d %12s %12s %8s%n", r.name(), r.base(), r.desktops(),
            Sizes.format(r.provisioned()), Sizes.format(r.allocated()), ratio(r));
      }
    }
  }

  @Command(name = "info", description = "Show a pool's desktops and space-savings report.")
  static final class Info implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The pool.") String name;
    @Mixin OutputOptions output;

    /** A pool and its space-savings report. */
    record Result(DesktopPool pool, PoolReport space) {}

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        output.print(new Result(s.inventory.pools().get(name), s.inventory.pools().report(name)), Info::print);
      }
      return 0;
    }

    /** Prints the pool, its desktops and its space figures as text. */
    static void print(PrintWriter out, Result result) {
      DesktopPool p = result.pool();
      PoolReport r = result.space();
      out.println("pool: " + p.name());
      out.println("base: " + p.base() + " (generation " + p.generation() + ")");
      out.println("replica: " + String.join(", ", p.replica()));
      out.println("created: " + p.created());
      if (!p.datastores().isEmpty()) {
        out.println("datastores: " + String.join(", ", p.datastores()));
      }
      out.println("desktops: " + p.desktops().size());
      for (Desktop d : p.desktops()) {
        out.println("  " + d.name() + ": system " + String.join(", ", d.systemDisks())
            + (d.persistentDisk() == null ? "" : ", persistent " + d.persistentDisk())
            + (d.disposableDisk() == null ? "" : ", disposable " + d.disposableDisk())
            + (d.datastore() == null ? "" : " (in " + d.datastore() + ")"));
      }
      out.println("provisioned: " + Sizes.format(r.provisioned()) + " (" + r.provisioned() + " bytes)");
      out.println("allocated: " + Sizes.format(r.allocated()) + " (" + r.allocated() + " bytes: pool "
          + Sizes.format(r.poolAllocated()) + ", base " + Sizes.format(r.baseAllocated()) + ")");
      out.println("savings ratio: " + ratio(r) + " (provisioned / allocated)");
    }
  }

  /** Formats the savings ratio; with nothing allocated yet there is no ratio to show. */
  static String ratio(PoolReport r) {
    return r.allocated() == 0 ? "-" : String.format(Locale.ROOT, "%.1fx", r.ratio());
  }

  @Command(name = "set", description = "Change a pool's settings: the datastores its desktops may live in.")
  static final class SetCmd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The pool.") String name;
    @Option(names = "--datastores", paramLabel = "DIR", split = ",", required = true,
        description = "The datastore directories its desktops may live in, comma-separated (pool rebalance spreads "
            + "them over these; the pool's own datastore alone is the default). Moves nothing.")
    List<String> datastores;

    @Override
    public Integer call() throws Exception {
      List<String> dirs = new ArrayList<>();
      for (String d : datastores) {
        dirs.add(io.vstore.engine.DesktopPools.directory(DaemonContext.path(d)));
      }
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        DesktopPool p = s.inventory.pools().setDatastores(name, dirs);
        spec.commandLine().getOut().println("pool " + name + " may use " + (p.datastores().isEmpty()
            ? "its own datastore only" : String.join(", ", p.datastores())) + " (vstore pool rebalance " + name
            + " moves its desktops)");
      }
      return 0;
    }
  }

  @Command(name = "recompose", description = "Move every desktop to a new base snapshot; persistent disks are kept.")
  static final class Recompose implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The pool.") String name;
    @Option(names = "--from", paramLabel = "VM@SNAP", required = true, description = "The new base VM snapshot.")
    String from;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = EngineSession.vmSnapshot(from);
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        s.inventory.pools().recompose(name, ref.volume(), ref.snapshot());
        spec.commandLine().getOut().println("recomposed pool " + name + " onto " + from);
      }
      return 0;
    }
  }

  @Command(name = "refresh", description = "Reset desktops' system disks to the replica and empty their disposable "
      + "disks; persistent disks are kept.")
  static final class Refresh implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The pool.") String name;
    @Option(names = "--desktop", paramLabel = "DESKTOP", description = "Refresh only this desktop (default: all).")
    String desktop;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        s.inventory.pools().refresh(name, desktop);
        spec.commandLine().getOut().println("refreshed " + (desktop == null ? "every desktop of pool " + name
            : "desktop " + desktop + " of pool " + name));
      }
      return 0;
    }
  }

  @Command(name = "delete", description = "Delete a pool: its desktops' disks (persistent ones included) and replica.")
  static final class Delete implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The pool.") String name;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        s.inventory.pools().delete(name);
        spec.commandLine().getOut().println("deleted pool " + name);
      }
      return 0;
    }
  }
}
