package io.vstore.cli;

import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code vstore backup info [POINT] --repo REPO}: one point. */
@Command(name = "info", description = "Show one point (by id or unique id prefix), or the newest without POINT.")
final class BackupInfoCommand implements Callable<Integer> {
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
      boolean isProtected = BackupPointEntry.protectedIds(repo).contains(info.id());
      output.print(BackupPointEntry.of(info, isProtected), BackupInfoCommand::print);
    }
    return 0;
  }

  static void print(PrintWriter out, BackupPointEntry p) {
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
