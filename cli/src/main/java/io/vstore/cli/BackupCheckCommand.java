package io.vstore.cli;

import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryReport;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vstore backup check --repo REPO}: checks the structure of a repository. Runs in this
 * process (it only reads objects; it takes no lock, so backups may run meanwhile).
 */
@Command(name = "check", description = "Check a repository's structure: config, keys, every index entry's pack "
    + "exists and its trailer agrees, every point's pages resolve to indexed chunks. Exit status 1 if a problem "
    + "is found. 'backup verify' also reads the data.")
final class BackupCheckCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin BackupRepoOptions repoOptions;
  @Mixin OutputOptions output;

  /** What check and verify print. */
  record Result(String repository, boolean ok, long objects, long chunks, long bytes, List<String> problems) {
    static Result of(String repo, RepositoryReport r) {
      return new Result(repo, r.ok(), r.objects(), r.chunks(), r.bytes(),
          r.problems().stream().map(RepositoryReport.Problem::toString).toList());
    }
  }

  @Override
  public Integer call() throws Exception {
    try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
      Result r = Result.of(opened.store().toString(), repo.check());
      output.print(r, (out, x) -> print(out, x, "checked"));
      return r.ok() ? 0 : 1;
    }
  }

  static void print(PrintWriter out, Result r, String verb) {
    for (String p : r.problems()) {
      out.println("problem: " + p);
    }
    out.println(verb + " " + r.repository() + ": " + r.objects() + " objects, " + r.chunks() + " chunks, "
        + Sizes.format(r.bytes()) + " read; " + (r.ok() ? "no problems" : r.problems().size() + " problem(s)"));
  }
}
