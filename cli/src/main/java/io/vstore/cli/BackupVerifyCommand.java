package io.vstore.cli;

import io.vstore.backup.repo.Repository;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code vstore backup verify --repo REPO [--sample PERCENT]}: reads and authenticates data. Runs in
 * this process, like check: it reads objects only.
 */
@Command(name = "verify", description = "Read, decrypt, decompress and re-hash every chunk of a share of the packs "
    + "(all of a chosen pack's chunks). Exit status 1 if a problem is found.")
final class BackupVerifyCommand implements Callable<Integer> {
  @Mixin BackupRepoOptions repoOptions;
  @Option(names = "--sample", paramLabel = "PERCENT", description = "Share of packs to read, 0-100 (default 100).")
  double sample = 100;
  @Mixin OutputOptions output;

  @Override
  public Integer call() throws Exception {
    try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
      BackupCheckCommand.Result r = BackupCheckCommand.Result.of(opened.store().toString(), repo.verify(sample));
      output.print(r, (out, x) -> BackupCheckCommand.print(out, x, "verified"));
      return r.ok() ? 0 : 1;
    }
  }
}
