package io.vstore.cli;

import io.vstore.backup.engine.PointDiff;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore backup diff A B --repo REPO}: the ranges two points differ in, from their chunk maps. */
@Command(name = "diff", description = "List the byte ranges in which two points differ, from their chunk maps "
    + "(no data is read), in chunk-size units. JSON: {\"a\", \"b\", \"chunkSize\", \"ranges\": [{\"offset\", "
    + "\"length\"}], \"bytes\"}.")
final class BackupDiffCommand implements Callable<Integer> {
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
