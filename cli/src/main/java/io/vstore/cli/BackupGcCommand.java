package io.vstore.cli;

import io.vstore.backup.maint.GarbageCollector;
import io.vstore.backup.maint.RepositoryLocks;
import io.vstore.backup.repo.Repository;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vstore backup gc --repo REPO}: frees the data no point references, while backups keep running. */
@Command(name = "gc", description = "Free the packs and pages no point references, in two phases so that backups "
    + "can run meanwhile: each run deletes the candidates an earlier run set aside, once every backup, sync and "
    + "restore that was running then has ended (or died: its lock goes stale), then sets aside what is unreferenced "
    + "now. Two runs, with the backups of the time finished in between, free what a prune released. JSON: the "
    + "counts of packs and bytes deleted, restored (referenced again), set aside and kept, rounds waiting, notes.")
final class BackupGcCommand implements Callable<Integer> {
  @Mixin BackupRepoOptions repoOptions;
  @Option(names = "--dry-run", description = "Show what would be deleted and set aside; change nothing.")
  boolean dryRun;
  @Mixin OutputOptions output;

  @Override
  public Integer call() throws Exception {
    try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
      GarbageCollector.Result r = new GarbageCollector(repo, new RepositoryLocks(opened.store())).run(dryRun);
      output.print(r, BackupGcCommand::print);
    }
    return 0;
  }

  static void print(PrintWriter out, GarbageCollector.Result r) {
    String would = r.dryRun() ? "would " : "";
    for (String note : r.notes()) {
      out.println("note: " + note);
    }
    out.println(would + "delete " + r.packsDeleted() + " pack(s), " + Sizes.format(r.bytesDeleted()) + ", and "
        + r.pagesDeleted() + " page(s) set aside by earlier runs; " + r.packsRestored() + " pack(s) and "
        + r.pagesRestored() + " page(s) were in use again and stay");
    out.println(would + "set aside " + r.packsMarked() + " pack(s), " + Sizes.format(r.bytesMarked())
        + (r.packsRepacked() > 0 ? " (" + r.packsRepacked() + " of them mostly garbage, their live chunks copied to "
            + "new packs)" : "") + ", and " + r.pagesMarked() + " page(s), for a later gc; kept " + r.packsKept() + " pack(s), "
        + Sizes.format(r.bytesKept()) + (r.roundsWaiting() > 0 ? "; " + r.roundsWaiting()
            + " earlier round(s) wait for running backups" : ""));
  }
}
