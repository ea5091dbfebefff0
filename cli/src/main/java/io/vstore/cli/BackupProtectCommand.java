package io.vstore.cli;

import io.vstore.backup.maint.ProtectionMarkers;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vstore backup protect POINT --repo REPO [--off]}: keeps a point from being pruned, or lets it be again. */
@Command(name = "protect", description = "Protect a point from prune (it is kept whatever the --keep options say), "
    + "or with --off remove the protection. JSON: {\"id\", \"protected\", \"changed\"}.")
final class BackupProtectCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "POINT", description = "The point's id or a unique prefix.") String point;
  @Mixin BackupRepoOptions repoOptions;
  @Option(names = "--off", description = "Remove the protection.") boolean off;
  @Mixin OutputOptions output;

  /** What protect prints. */
  record Result(String id, @com.fasterxml.jackson.annotation.JsonProperty("protected") boolean isProtected,
      boolean changed) {}

  @Override
  public Integer call() throws Exception {
    try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
      String id;
      try (PointReader r = repo.openPoint(point)) {
        id = r.info().id();
      }
      ProtectionMarkers markers = new ProtectionMarkers(opened.store());
      boolean changed = off ? markers.unprotect(id) : markers.protect(id);
      output.print(new Result(id, !off, changed), (out, r) -> out.println("point " + r.id() + (r.isProtected()
          ? (r.changed() ? " is now protected" : " was already protected")
          : (r.changed() ? " is no longer protected" : " was not protected"))));
    }
    return 0;
  }
}
