package io.vstore.cli;

import io.vstore.backup.maint.Durations;
import io.vstore.backup.maint.Pruner;
import io.vstore.backup.maint.RepositoryLocks;
import io.vstore.backup.maint.RetentionOptions;
import io.vstore.backup.repo.Repository;
import java.io.PrintWriter;
import java.time.ZoneId;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code vstore backup prune --repo REPO --keep-...}: removes the points a retention policy does not
 * keep, per source, with Proxmox Backup Server's semantics. Runs beside backups (no exclusive lock).
 */
@Command(name = "prune", description = "Remove the points that the --keep options do not keep, for each source "
    + "(volume) separately, with Proxmox Backup Server's semantics: the options apply in the order last, hourly, "
    + "daily, weekly (ISO weeks), monthly, yearly, each keeping the newest point of each of its N most recent periods "
    + "that an earlier option did not already hold; --keep-within keeps in addition every point within that time of "
    + "the source's newest. Protected points and the base of a running backup are always kept. Without any --keep "
    + "option nothing is removed. Only manifests are deleted; 'backup gc' frees the data. JSON: {\"dryRun\", "
    + "\"removed\", \"kept\", \"points\": [{\"id\", \"time\", \"source\", \"action\", \"reason\"}]}.")
final class BackupPruneCommand implements Callable<Integer> {
  @Mixin BackupRepoOptions repoOptions;
  @Option(names = "--keep-last", paramLabel = "N", description = "Keep the N newest points.") int keepLast;
  @Option(names = "--keep-hourly", paramLabel = "N", description = "Keep the newest point of each of the last N hours "
      + "that have one.") int keepHourly;
  @Option(names = "--keep-daily", paramLabel = "N", description = "... of the last N days.") int keepDaily;
  @Option(names = "--keep-weekly", paramLabel = "N", description = "... of the last N ISO weeks (Monday to Sunday).")
  int keepWeekly;
  @Option(names = "--keep-monthly", paramLabel = "N", description = "... of the last N months.") int keepMonthly;
  @Option(names = "--keep-yearly", paramLabel = "N", description = "... of the last N years.") int keepYearly;
  @Option(names = "--keep-within", paramLabel = "DURATION", description = "Also keep every point within DURATION "
      + "(e.g. 36h, 7d, 1y2m; m is 30 days) of the source's newest point.") String keepWithin;
  @Option(names = "--source", paramLabel = "NAME", description = "Prune only this source's points.") String source;
  @Option(names = "--dry-run", description = "Show what would be removed; remove nothing.") boolean dryRun;
  @Option(names = "--utc", description = "Count hours, days, weeks... in UTC instead of this host's time zone.")
  boolean utc;
  @Mixin OutputOptions output;

  /** One point's fate, as printed. */
  record Entry(String id, String time, String source, String action, String reason) {}

  /** What prune prints. */
  record Result(boolean dryRun, int removed, int kept, List<Entry> points) {}

  @Override
  public Integer call() throws Exception {
    RetentionOptions options = new RetentionOptions(keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly,
        keepYearly, keepWithin == null ? null : Durations.parse(keepWithin));
    try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
      ZoneId zone = utc ? ZoneId.of("UTC") : ZoneId.systemDefault();
      Pruner.Result r = new Pruner(repo, new RepositoryLocks(opened.store()), zone).prune(options, source, dryRun);
      List<Entry> entries = r.decisions().stream().map(d -> new Entry(d.point().id(), d.point().time().toString(),
          d.point().source(), d.keep() ? (d.mark() == io.vstore.backup.maint.PrunePolicy.Mark.PROTECTED ? "protected"
              : "keep") : "remove", d.reason())).toList();
      output.print(new Result(r.dryRun(), r.removed(), r.kept(), entries), BackupPruneCommand::print);
    }
    return 0;
  }

  static void print(PrintWriter out, Result r) {
    String lastSource = null;
    for (Entry e : r.points()) {
      if (!e.source().equals(lastSource)) {
        out.println(e.source() + ":");
        lastSource = e.source();
      }
      out.printf("  %-9s %s %s%s%n", e.action(), e.id(), e.time(),
          e.reason().isEmpty() ? "" : " (" + e.reason().toLowerCase(Locale.ROOT) + ")");
    }
    out.println((r.dryRun() ? "would remove " : "removed ") + r.removed() + " point(s), kept " + r.kept()
        + (r.dryRun() ? " (dry run: nothing changed)" : "; run 'vstore backup gc' to free their data"));
  }
}
