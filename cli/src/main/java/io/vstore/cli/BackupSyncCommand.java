package io.vstore.cli;

import io.vstore.backup.maint.RepositorySync;
import io.vstore.backup.repo.KeySource;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vstore backup sync --from REPO --to REPO}: copies the points and chunks a second repository lacks. */
@Command(name = "sync", description = "Copy the points the target repository lacks, sending only the chunks it "
    + "lacks; an interrupted sync continues where it stopped. The target must share the source's chunk-id key: "
    + "create it with 'vstore backup init REPO2 --copy-ids-from REPO1' (its own passphrase or key file). Keys: "
    + "--from-/--to- passphrase or key files, else VSTORE_BACKUP_PASSPHRASE for both. JSON: {\"pointsCopied\", "
    + "\"pointsPresent\", \"chunksCopied\", \"bytesCopied\", \"chunksPresent\"}.")
final class BackupSyncCommand implements Callable<Integer> {
  @Option(names = "--from", required = true, paramLabel = "REPO", description = "The source repository.") String from;
  @Option(names = "--to", required = true, paramLabel = "REPO", description = "The target repository.") String to;
  @Option(names = "--from-passphrase-file", paramLabel = "FILE",
      description = "The passphrase (first line of FILE) that unlocks the --from repository.") Path fromPassphrase;
  @Option(names = "--from-key-file", paramLabel = "FILE",
      description = "The key file that unlocks the --from repository.") Path fromKeyFile;
  @Option(names = "--to-passphrase-file", paramLabel = "FILE",
      description = "The passphrase (first line of FILE) that unlocks the --to repository.") Path toPassphrase;
  @Option(names = "--to-key-file", paramLabel = "FILE",
      description = "The key file that unlocks the --to repository.") Path toKeyFile;
  @Option(names = "--source", paramLabel = "NAME", description = "Only this source's points.") String source;
  @Mixin OutputOptions output;

  @Override
  public Integer call() throws Exception {
    KeySource fromKey = key(fromPassphrase, fromKeyFile, "--from");
    KeySource toKey = key(toPassphrase, toKeyFile, "--to");
    try (ObjectStore a = store(from); ObjectStore b = store(to)) {
      RepositorySync.Result r = RepositorySync.run(a, fromKey, b, toKey, source);
      output.print(r, BackupSyncCommand::print);
    }
    return 0;
  }

  static void print(PrintWriter out, RepositorySync.Result r) {
    out.println("copied " + r.pointsCopied().size() + " point(s)" + (r.pointsCopied().isEmpty() ? ""
        : " (" + String.join(", ", r.pointsCopied()) + ")") + ", " + r.pointsPresent() + " were there already; sent "
        + r.chunksCopied() + " chunk(s), " + Sizes.format(r.bytesCopied()) + ", " + r.chunksPresent()
        + " the target had");
  }

  static KeySource key(Path passphrase, Path keyFile, String side) throws IOException {
    if (passphrase != null && keyFile != null) {
      throw new IllegalArgumentException("give " + side + "-passphrase-file or " + side + "-key-file, not both");
    }
    if (passphrase != null) {
      return KeySource.fromPassphraseFile(passphrase);
    }
    if (keyFile != null) {
      return KeySource.fromKeyFile(keyFile);
    }
    String env = System.getenv(BackupRepoOptions.PASSPHRASE_ENV);
    return env == null || env.isEmpty() ? null : new KeySource.Passphrase(env.toCharArray());
  }

  /** Opens the store of a repository location: a directory (relative to the client's directory) or s3://. */
  static ObjectStore store(String location) throws IOException {
    return BackupRepoOptions.store(location);
  }
}
