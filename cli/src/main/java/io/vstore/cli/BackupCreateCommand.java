package io.vstore.cli;

import io.vstore.backup.engine.BackupResult;
import io.vstore.backup.engine.BackupRun;
import io.vstore.backup.maint.LockKind;
import io.vstore.backup.repo.Repository;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore backup create VOLUME|VM --repo REPO}: a point per volume, as a daemon job. */
@Command(name = "create", description = "Back up a volume, or every disk of a VM from one consistency-group "
    + "snapshot, as a job of the daemon that owns the datastore. The first point of a volume reads its allocated "
    + "extents, later ones only what changed since the previous point; each point is a full one.")
final class BackupCreateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin DatastoreLocation location;
  @Parameters(index = "0", paramLabel = "VOLUME|VM", description = "The volume or VM to back up.") String source;
  @Mixin BackupRepoOptions repoOptions;
  @Option(names = "--tag", paramLabel = "TAG", description = "Tag the point(s); repeatable.")
  List<String> tags = new ArrayList<>();
  @Option(names = "--workers", paramLabel = "N", description = "Threads that hash, compress and store chunks "
      + "(default: one per core).") Integer workers;
  @Mixin ProgressOptions progressOptions;
  @Mixin OutputOptions output;

  @Override
  public Integer call() throws Exception {
    PrintWriter err = spec.commandLine().getErr();
    try (EngineSession s = EngineSession.open(location, err); BackupRepoOptions.Opened opened = repoOptions.open(LockKind.BACKUP, source);
        Repository repo = opened.repo(); BackupProgress listener = new BackupProgress(progressOptions, err)) {
      BackupRun run = new BackupRun(s.store, repo, listener).tags(tags).lock(opened.lock());
      if (workers != null) {
        run.workers(workers);
      }
      List<BackupResult> results;
      if (s.store.hasVolume(source)) {
        results = List.of(run.volume(source));
      } else if (s.inventory.vms().list().stream().anyMatch(vm -> vm.name().equals(source))) {
        results = run.vm(source, s.inventory.vms().get(source).disks());
      } else {
        throw new IllegalArgumentException("no volume or VM named " + source);
      }
      listener.close();
      output.print(results.stream().map(Result::of).toList(), BackupCreateCommand::print);
    }
    return 0;
  }

  /** One point written, as printed. */
  record Result(String volume, BackupPointEntry point, String mode, String note, long bytesRead, long chunks,
      long zeroChunks, long newChunks) {
    static Result of(BackupResult r) {
      return new Result(r.volume(), BackupPointEntry.of(r.point(), false), r.mode(), r.note(), r.bytesRead(),
          r.chunks(),
          r.zeroChunks(), r.newChunks());
    }
  }

  static void print(PrintWriter out, List<Result> results) {
    for (Result r : results) {
      out.println("backed up " + r.volume() + " as point " + r.point().id() + " (" + r.mode() + "): read "
          + Sizes.format(r.bytesRead()) + ", " + r.newChunks() + " new chunks of " + r.chunks() + " ("
          + Sizes.format(r.point().newBytes()) + " stored), the point holds " + Sizes.format(r.point().bytes()));
      if (r.note() != null) {
        out.println("  note: " + r.note());
      }
    }
  }
}
