package io.vstore.cli;

import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.Repository;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vstore backup list --repo REPO}: the points of a repository, oldest first. */
@Command(name = "list", description = "List the points of a repository, oldest first. JSON: [{\"id\", \"time\", "
    + "\"source\", \"kind\", \"group\", \"changeId\", \"sizeBytes\", \"bytes\", \"newBytes\", \"base\", \"tags\", "
    + "\"protected\"}].")
final class BackupListCommand implements Callable<Integer> {
  @Mixin BackupRepoOptions repoOptions;
  @Option(names = "--source", paramLabel = "NAME", description = "Only points of this volume or VM.") String source;
  @Mixin OutputOptions output;

  @Override
  public Integer call() throws Exception {
    try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
      Set<String> prot = BackupPointEntry.protectedIds(repo);
      List<BackupPointEntry> entries = new ArrayList<>();
      for (PointInfo p : repo.points()) {
        if (source == null || source.equals(p.source()) || source.equals(p.group())) {
          entries.add(BackupPointEntry.of(p, prot.contains(p.id())));
        }
      }
      output.print(entries, BackupListCommand::print);
    }
    return 0;
  }

  static void print(PrintWriter out, List<BackupPointEntry> points) {
    out.printf("%-16s %-24s %-24s %-6s %10s %10s %10s  %s%n", "ID", "TIME", "SOURCE", "KIND", "SIZE", "DATA", "NEW",
        "TAGS");
    for (BackupPointEntry p : points) {
      String src = p.group() == null ? p.source() : p.group() + "/" + p.source();
      out.printf("%-16s %-24s %-24s %-6s %10s %10s %10s  %s%s%n", p.id(), p.time(), src, p.kind(),
          Sizes.format(p.sizeBytes()), Sizes.format(p.bytes()), Sizes.format(p.newBytes()),
          String.join(",", p.tags()), p.isProtected() ? " (protected)" : "");
    }
  }
}
