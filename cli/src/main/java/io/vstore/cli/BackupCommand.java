package io.vstore.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.vstore.backup.engine.BackupListener;
import io.vstore.backup.engine.BackupResult;
import io.vstore.backup.engine.BackupRun;
import io.vstore.backup.engine.PointDiff;
import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.store.ObjectInfo;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vstore backup ...}: backup repositories and the points in them. Each subcommand lives in its
 * own class; this group lists them.
 */
@Command(name = "backup", description = "Back up volumes and VMs into deduplicated, compressed, optionally encrypted "
    + "repositories (a directory), and look at the points in them. Restore with 'vstore restore'.",
    mixinStandardHelpOptions = true,
    subcommands = {BackupCommand.Create.class, BackupCommand.ListCmd.class, BackupCommand.Info.class,
        BackupCommand.Diff.class, BackupMountCommand.class, BackupUmountCommand.class})
final class BackupCommand {

  /** A point as {@code backup list} and {@code backup info} print it (JSON field names are stable). */
  record PointEntry(String id, String time, String source, String kind, String group, String changeId, long sizeBytes,
      long bytes, long newBytes, String base, List<String> tags, @JsonProperty("protected") boolean isProtected) {
    static PointEntry of(PointInfo p, boolean isProtected) {
      return new PointEntry(p.id(), p.time().toString(), p.source(), p.kind(), p.group(), p.changeId(), p.sizeBytes(),
          p.bytes(), p.newBytes(), p.base(), p.tags(), isProtected);
    }
  }

  /** Returns the ids of the protected points (backup-maint's {@code protect/<pointid>} objects). */
  static Set<String> protectedIds(Repository repo) throws java.io.IOException {
    Set<String> out = new HashSet<>();
    repo.store().list("protect/", (ObjectInfo o) -> out.add(o.key().substring(o.key().lastIndexOf('/') + 1)));
    return out;
  }

  @Command(name = "create", description = "Back up a volume, or every disk of a VM from one consistency-group "
      + "snapshot, as a job of the daemon that owns the datastore. The first point of a volume reads its allocated "
      + "extents, later ones only what changed since the previous point; each point is a full one.")
  static final class Create implements Callable<Integer> {
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
      try (EngineSession s = EngineSession.open(location, err); BackupRepoOptions.Opened opened = repoOptions.open();
          Repository repo = opened.repo(); CliListener listener = new CliListener(progressOptions, err)) {
        BackupRun run = new BackupRun(s.store, repo, listener).tags(tags);
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
        output.print(results.stream().map(Result::of).toList(), Create::print);
      }
      return 0;
    }

    /** One point written, as printed. */
    record Result(String volume, PointEntry point, String mode, String note, long bytesRead, long chunks,
        long zeroChunks, long newChunks) {
      static Result of(BackupResult r) {
        return new Result(r.volume(), PointEntry.of(r.point(), false), r.mode(), r.note(), r.bytesRead(), r.chunks(),
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

  @Command(name = "list", description = "List the points of a repository, oldest first. JSON: [{\"id\", \"time\", "
      + "\"source\", \"kind\", \"group\", \"changeId\", \"sizeBytes\", \"bytes\", \"newBytes\", \"base\", \"tags\", "
      + "\"protected\"}].")
  static final class ListCmd implements Callable<Integer> {
    @Mixin BackupRepoOptions repoOptions;
    @Option(names = "--source", paramLabel = "NAME", description = "Only points of this volume or VM.") String source;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
        Set<String> prot = protectedIds(repo);
        List<PointEntry> entries = new ArrayList<>();
        for (PointInfo p : repo.points()) {
          if (source == null || source.equals(p.source()) || source.equals(p.group())) {
            entries.add(PointEntry.of(p, prot.contains(p.id())));
          }
        }
        output.print(entries, ListCmd::print);
      }
      return 0;
    }

    static void print(PrintWriter out, List<PointEntry> points) {
      out.printf("%-16s %-24s %-24s %-6s %10s %10s %10s  %s%n", "ID", "TIME", "SOURCE", "KIND", "SIZE", "DATA", "NEW",
          "TAGS");
      for (PointEntry p : points) {
        String src = p.group() == null ? p.source() : p.group() + "/" + p.source();
        out.printf("%-16s %-24s %-24s %-6s %10s %10s %10s  %s%s%n", p.id(), p.time(), src, p.kind(),
            Sizes.format(p.sizeBytes()), Sizes.format(p.bytes()), Sizes.format(p.newBytes()),
            String.join(",", p.tags()), p.isProtected() ? " (protected)" : "");
      }
    }
  }

  @Command(name = "info", description = "Show one point (by id or unique id prefix), or the newest without POINT.")
  static final class Info implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "POINT", arity = "0..1", description = "The point's id or a unique prefix.")
    String point;
    @Mixin BackupRepoOptions repoOptions;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
        PointInfo info;
        if (point == null) {
          List<PointInfo> all = repo.points();
          if (all.isEmpty()) {
            throw new IllegalArgumentException("repository " + repoOptions.repo + " holds no points");
          }
          info = all.getLast();
        } else {
          try (PointReader r = repo.openPoint(point)) {
            info = r.info();
          }
        }
        output.print(PointEntry.of(info, protectedIds(repo).contains(info.id())), Info::print);
      }
      return 0;
    }

    static void print(PrintWriter out, PointEntry p) {
      out.println("point: " + p.id());
      out.println("time: " + p.time());
      out.println("source: " + p.source() + (p.group() != null ? " (VM " + p.group() + ")" : "") + ", " + p.kind());
      out.println("size: " + Sizes.format(p.sizeBytes()) + " (" + p.sizeBytes() + " bytes)");
      out.println("data: " + Sizes.format(p.bytes()) + "; stored new by its backup: " + Sizes.format(p.newBytes()));
      out.println("change id: " + (p.changeId() == null ? "-" : p.changeId()));
      out.println("base: " + (p.base() == null ? "-" : p.base()));
      out.println("tags: " + (p.tags().isEmpty() ? "-" : String.join(", ", p.tags())));
      out.println("protected: " + (p.isProtected() ? "yes" : "no"));
    }
  }

  @Command(name = "diff", description = "List the byte ranges in which two points differ, from their chunk maps "
      + "(no data is read), in chunk-size units. JSON: {\"a\", \"b\", \"chunkSize\", \"ranges\": [{\"offset\", "
      + "\"length\"}], \"bytes\"}.")
  static final class Diff implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "A", description = "The first point.") String a;
    @Parameters(index = "1", paramLabel = "B", description = "The second point.") String b;
    @Mixin BackupRepoOptions repoOptions;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo();
          PointReader ra = repo.openPoint(a); PointReader rb = repo.openPoint(b)) {
        // Streamed as found: a diff of two large points never gathers its ranges in memory.
        if (output.json) {
          out.println("{\"a\": \"" + ra.info().id() + "\", \"b\": \"" + rb.info().id() + "\", \"chunkSize\": "
              + ra.chunkSize() + ", \"ranges\": [");
          boolean[] first = {true};
          long total = PointDiff.run(ra, rb, repo.config().pageChunks(), (off, len) -> {
            out.print((first[0] ? "  " : ",\n  ") + "{\"offset\": " + off + ", \"length\": " + len + "}");
            first[0] = false;
          });
          out.println((first[0] ? "" : "\n") + "], \"bytes\": " + total + "}");
        } else {
          long[] count = {0};
          long total = PointDiff.run(ra, rb, repo.config().pageChunks(), (off, len) -> {
            out.println(off + " " + len);
            count[0]++;
          });
          out.println("# " + count[0] + " ranges, " + Sizes.format(total) + " differ between " + ra.info().id()
              + " and " + rb.info().id());
        }
        out.flush();
      }
      return 0;
    }
  }

  /** Shows a backup's or restore's progress as a bar per volume and its notes on stderr. */
  static final class CliListener implements BackupListener, AutoCloseable {
    private final ProgressOptions options;
    private final PrintWriter err;
    private volatile Progress bar;

    CliListener(ProgressOptions options, PrintWriter err) {
      this.options = options;
      this.err = err;
    }

    @Override
    public synchronized void started(String what, long totalBytes) {
      close();
      bar = options.bar(what, totalBytes);
    }

    @Override
    public void progress(long doneBytes) {
      Progress b = bar;
      if (b != null) {
        b.accept(doneBytes);
      }
    }

    @Override
    public void log(String line) {
      err.println("vstore: " + line);
      err.flush();
    }

    @Override
    public synchronized void close() {
      if (bar != null) {
        bar.close();
        bar = null;
      }
    }
  }
}
