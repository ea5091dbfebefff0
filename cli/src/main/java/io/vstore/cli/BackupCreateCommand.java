package io.vstore.cli;

import io.vstore.backup.engine.BackupResult;
import io.vstore.backup.engine.BackupRun;
import io.vstore.backup.maint.LockKind;
import io.vstore.backup.repo.Repository;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
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
  private static final System.Logger LOG = System.getLogger(BackupCreateCommand.class.getName());
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
    // The two fixed costs of every backup side by side, one per core: the datastore (RocksDB) opens
    // here while the repository's key is stretched and its index loaded on another thread.
    CompletableFuture<BackupRepoOptions.Opened> repository = new CompletableFuture<>();
    Thread opener = Thread.ofPlatform().name("backup-repo-open").start(() -> {
      long t0 = System.nanoTime();
      try {
        BackupRepoOptions.Opened o = repoOptions.open(LockKind.BACKUP, source);
        try {
          o.repo().preloadIndex();
        } catch (IOException | RuntimeException e) {
          try {
            o.close();
          } catch (IOException | RuntimeException suppressed) {
            e.addSuppressed(suppressed);
          }
          throw e;
        }
        repository.complete(o);
        LOG.log(System.Logger.Level.DEBUG, () -> String.format("backup phase: repository opened (lock, key, index) "
            + "in %.1f ms", (System.nanoTime() - t0) / 1e6));
      } catch (Throwable e) {
        repository.completeExceptionally(e);
      }
    });
    EngineSession session;
    long t0 = System.nanoTime();
    try {
      session = EngineSession.open(location, err);
      LOG.log(System.Logger.Level.DEBUG, () -> String.format("backup phase: datastore opened in %.1f ms",
          (System.nanoTime() - t0) / 1e6));
    } catch (IOException | RuntimeException e) {
      closeWhenOpened(opener, repository, e);
      throw e;
    }
    BackupRepoOptions.Opened opened;
    try {
      opened = opened(opener, repository);
    } catch (IOException | RuntimeException e) {
      try {
        session.close();
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    try (EngineSession s = session; BackupRepoOptions.Opened o = opened;
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

  /** Waits for the repository's opener and returns what it opened, or throws what it threw. */
  private static BackupRepoOptions.Opened opened(Thread opener, CompletableFuture<BackupRepoOptions.Opened> f)
      throws IOException {
    try {
      opener.join();
      return f.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closeWhenOpened(opener, f, e);
      throw new java.io.InterruptedIOException("interrupted while opening the backup repository");
    } catch (CompletionException e) {
      switch (e.getCause()) {
        case IOException io -> throw io;
        case RuntimeException r -> throw r;
        case Error err -> throw err;
        default -> throw new IllegalStateException(e.getCause());
      }
    }
  }

  /** After a failure of the datastore's side: closes the repository (and releases its lock) once the opener is done. */
  private static void closeWhenOpened(Thread opener, CompletableFuture<BackupRepoOptions.Opened> f, Exception e) {
    try {
      opener.join();
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
    }
    BackupRepoOptions.Opened o = f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
    if (o != null) {
      try {
        o.close();
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
    }
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
