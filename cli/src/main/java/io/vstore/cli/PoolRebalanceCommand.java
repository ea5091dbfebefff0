package io.vstore.cli;

import io.vstore.blockstore.store.Datastore;
import io.vstore.engine.Inventory;
import io.vstore.engine.PoolPlacement;
import io.vstore.engine.PoolTransfer;
import io.vstore.engine.move.PoolRebalance;
import io.vstore.server.Daemon;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.ProgressSink;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vstore pool rebalance POOL [--dry-run]}: spreads a pool's desktops over the datastores it
 * may use ({@code pool set --datastores}) by free space and capacity thresholds, in the daemon that
 * owns them, as a job; prints the plan first. Each desktop moves whole (persistent and disposable
 * disks with the mover, system disks as clones of the target's replica copy plus their own writes).
 */
@Command(name = "rebalance", description = {
    "Spread a pool's desktops over the datastores it may use (pool set --datastores), by free space and the "
        + "capacity thresholds (datastore set), as a job of the daemon that owns them. The plan is printed first.",
    "A target without the pool's replica gets one copy of it; desktops there are linked clones of that copy "
        + "with their own writes, so sharing is kept. Desktops move one after another, whole; their system "
        + "disks must not be exported while they move. 'vstore job cancel ID' stops after the desktop being "
        + "moved; a rebalance cut short by a crash is taken up by the next pool rebalance of the pool."})
final class PoolRebalanceCommand implements Callable<Integer> {
  /** The job kind of a rebalance. */
  static final String JOB_KIND = "pool-rebalance";

  @Spec CommandSpec spec;
  @Mixin DatastoreLocation location;
  @Mixin OutputOptions output;
  @Parameters(index = "0", paramLabel = "POOL", description = "The pool (in the -D datastore's inventory).")
  String pool;
  @Option(names = "--dry-run", description = "Print the plan and move nothing.")
  boolean dryRun;
  @Option(names = "--rate-limit", paramLabel = "BYTES/S", defaultValue = "0",
      description = "Limit the copy pass of each persistent and disposable disk's move to this many bytes a second "
          + "(such as 200M); client writes are never limited.")
  long rateLimit;

  /** The plan and, unless a dry run, what the rebalance did. */
  record Outcome(String pool, List<PoolPlacement.Move> moves, List<PoolPlacement.Projection> datastores,
      boolean dryRun, Done done) {}

  /** What the rebalance did: desktops moved, replica copies made, bytes copied, whether a cancel stopped it. */
  record Done(int moved, List<String> replicasCopied, long bytesCopied, boolean stopped) {}

  @Override
  public Integer call() throws Exception {
    DaemonContext context = DaemonContext.current().orElseThrow(() -> new IllegalStateException(
        "vstore pool rebalance runs in the daemon that owns the pool's datastores: start vstore serve -D HOME -D OTHER"));
    if (!(context.host() instanceof Daemon daemon)) {
      throw new IllegalStateException("vstore pool rebalance needs the daemon's NBD exports and jobs");
    }
    if (rateLimit < 0) {
      throw new IllegalArgumentException("--rate-limit must not be negative: " + rateLimit);
    }
    ManagedDatastore home = location.managed();
    Inventory inv = home.inventory();
    Function<String, Datastore> stores = dir -> daemon.find(Path.of(dir)).map(ManagedDatastore::store).orElse(null);
    PoolPlacement.Plan plan = PoolRebalance.plan(inv, stores, pool);
    PrintWriter out = spec.commandLine().getOut();
    if (!output.json) {
      printPlan(out, pool, plan);
      out.flush();
    }
    Done done = null;
    if (!dryRun) {
      for (PoolPlacement.Move m : plan.moves()) {
        checkNotExported(daemon, inv, pool, new PoolTransfer.Step(m.desktop(), m.from(), m.to()));
      }
      PoolRebalance run = PoolRebalance.start(inv, stores, pool, plan);
      done = execute(daemon, home, run, rateLimit, output.json ? null : out);
    }
    output.print(new Outcome(pool, plan.moves(), plan.datastores(), dryRun, done), (o, x) -> {
      Done d = x.done();
      if (d != null) {
        o.println((d.stopped() ? "stopped the rebalance of pool " + pool + " after " : "rebalanced pool " + pool
            + ": ") + d.moved() + " desktop(s) moved" + (d.replicasCopied().isEmpty() ? ""
            : ", replica copied to " + String.join(", ", d.replicasCopied())) + ", copied "
            + Sizes.format(d.bytesCopied()));
      }
    });
    return 0;
  }

  private static Done execute(Daemon daemon, ManagedDatastore home, PoolRebalance run, long rateLimit,
      PrintWriter out) throws IOException {
    int total = run.steps().size();
    int[] started = new int[1];
    ProgressSink sink = Progress.SINK.isBound() ? Progress.SINK.get() : ProgressSink.NONE;
    BooleanSupplier cancelled = () -> {
      if (daemon.jobs().isStopping()) {
        return true;
      }
      try {
        sink.update(started[0], Math.max(1, total));
        return false;
      } catch (CancellationException e) {
        return true;
      }
    };
    PoolRebalance.VolumeMover mover = (from, volume, to) -> Migrations.migrate(daemon, managed(daemon, from),
        managed(daemon, to), volume, rateLimit, false, done -> { }).copiedBytes();
    PoolRebalance.Result r = run.run(mover, new PoolRebalance.Listener() {
      @Override
      public void desktopStarted(PoolTransfer.Step step, int index, int count) throws IOException {
        started[0] = index;
        checkNotExported(daemon, home.inventory(), run.pool(), step); // an export added since the plan
      }

      @Override
      public void desktopMoved(PoolTransfer.Step step, long bytes) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("pool", run.pool());
        data.put("desktop", step.desktop());
        data.put("from", step.from());
        data.put("to", step.to());
        data.put("bytesCopied", bytes);
        daemon.events().publish("pool.desktop-moved", home.name(), data);
        if (out != null) {
          out.println("moved desktop " + step.desktop() + " to " + step.to() + ": copied " + Sizes.format(bytes));
          out.flush();
        }
      }
    }, cancelled);
    daemon.events().publish(r.stopped() ? "pool.rebalance-stopped" : "pool.rebalanced", home.name(),
        Map.of("pool", r.pool(), "moved", r.moved().size(), "bytesCopied", r.bytesCopied()));
    return new Done(r.moved().size(), r.replicasCopied(), r.bytesCopied(), r.stopped());
  }

  /** Throws unless no NBD export serves a system disk of the desktop {@code step} moves: they are copied, not mirrored. */
  private static void checkNotExported(Daemon daemon, Inventory inv, String pool, PoolTransfer.Step step)
      throws IOException {
    ManagedDatastore from = daemon.find(Path.of(step.from())).orElse(null);
    io.vstore.engine.Desktop d = inv.pools().get(pool).desktop(step.desktop());
    if (from == null || d == null) {
      return; // the rebalance itself names what is missing
    }
    for (String disk : d.systemDisks()) {
      try {
        daemon.exports().checkDeletable(from, disk, null);
      } catch (IllegalStateException e) {
        throw new IllegalStateException("cannot move desktop " + step.desktop() + " of pool " + pool + ": its system"
            + " disk " + disk + " is in use (" + e.getMessage().replaceFirst("^cannot delete volume [^:]*: ", "")
            + "); a rebalance copies system disks, it does not mirror them", e);
      }
    }
  }

  private static ManagedDatastore managed(Daemon daemon, Datastore store) {
    return daemon.find(store.path()).orElseThrow(() -> new IllegalStateException("datastore " + store.path()
        + " is not owned by this daemon"));
  }

  /** Prints the plan: each move, then each datastore's use before and after. */
  static void printPlan(PrintWriter out, String pool, PoolPlacement.Plan plan) {
    if (plan.datastores().isEmpty()) {
      out.println("pool " + pool + " has an unfinished rebalance; taking it up: " + plan.moves().size()
          + " desktop(s) to move");
    } else {
      out.println("plan for pool " + pool + ": " + (plan.moves().isEmpty() ? "nothing to move (balanced)"
          : plan.moves().size() + " desktop(s) to move"));
    }
    for (PoolPlacement.Move m : plan.moves()) {
      out.println("  " + m.desktop() + ": " + m.from() + " -> " + m.to()
          + (plan.datastores().isEmpty() ? "" : " (" + Sizes.format(m.bytes()) + ")"));
    }
    for (PoolPlacement.Projection p : plan.datastores()) {
      out.println(String.format(Locale.ROOT, "  %s: %.1f%% -> %.1f%% used of %s (warning %d%%, critical %d%%), "
          + "%d -> %d desktops%s", p.dir(), p.percentBefore(), p.percentAfter(), Sizes.format(p.capacity()),
          p.warningPercent(), p.criticalPercent(), p.desktopsBefore(), p.desktopsAfter(),
          p.replicaCopied() ? ", replica copied there" : ""));
    }
  }
}
