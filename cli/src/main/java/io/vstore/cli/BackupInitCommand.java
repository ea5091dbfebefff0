package io.vstore.cli;

import io.vstore.backup.repo.Compression;
import io.vstore.backup.repo.KeySource;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryConfig;
import io.vstore.backup.repo.RepositoryOptions;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vstore backup init REPO}: creates a repository. Runs in this process: a repository is not a
 * datastore, and creating one conflicts with nothing a daemon does.
 */
@Command(name = "init", description = "Create a backup repository in a directory. Encrypted (AES-256-GCM) when a "
    + "passphrase (--passphrase-file or VSTORE_BACKUP_PASSPHRASE) or a key file is given; --key-file creates the "
    + "file with 32 random bytes if it does not exist. Keep the key file or passphrase: without it the data is lost.")
final class BackupInitCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Parameters(index = "0", paramLabel = "REPO", description = "The repository directory (created if needed).")
  String repo;
  @Option(names = "--passphrase-file", paramLabel = "FILE", description = "Encrypt under the passphrase in FILE.")
  Path passphraseFile;
  @Option(names = "--key-file", paramLabel = "FILE", description = "Encrypt under the key file FILE.")
  Path keyFile;
  @Option(names = "--chunk-size", paramLabel = "SIZE", description = "Chunk size, a power of two from 16K to 4M "
      + "(default 64K).") String chunkSize;
  @Option(names = "--compression", paramLabel = "ALGO", description = "zstd (default), zstd3, lz4 or none.")
  String compression;
  @Option(names = "--copy-ids-from", paramLabel = "REPO", description = "Share REPO's chunk-id key (not its data key: "
      + "this repository has its own passphrase or key file), so that 'backup sync --from REPO' can copy only the "
      + "chunks this one lacks. REPO is unlocked with --copy-ids-passphrase-file or --copy-ids-key-file, else "
      + "VSTORE_BACKUP_PASSPHRASE.") String copyIdsFrom;
  @Option(names = "--copy-ids-passphrase-file", paramLabel = "FILE",
      description = "The passphrase (first line of FILE) that unlocks the --copy-ids-from repository.")
  Path copyIdsPassphrase;
  @Option(names = "--copy-ids-key-file", paramLabel = "FILE",
      description = "The key file that unlocks the --copy-ids-from repository.") Path copyIdsKeyFile;
  @Mixin OutputOptions output;

  /** What init prints. */
  record Result(String repository, String id, int chunkSize, String compression, boolean encrypted, String keyFile) {}

  @Override
  public Integer call() throws Exception {
    if (passphraseFile != null && keyFile != null) {
      throw new IllegalArgumentException("give --passphrase-file or --key-file, not both");
    }
    KeySource key = null;
    boolean createdKeyFile = false;
    if (passphraseFile != null) {
      key = KeySource.fromPassphraseFile(passphraseFile);
    } else if (keyFile != null) {
      createdKeyFile = !Files.exists(keyFile);
      key = createdKeyFile ? KeySource.createKeyFile(keyFile) : KeySource.fromKeyFile(keyFile);
    } else {
      String env = System.getenv(BackupRepoOptions.PASSPHRASE_ENV);
      key = env == null || env.isEmpty() ? null : new KeySource.Passphrase(env.toCharArray());
    }
    RepositoryOptions options = RepositoryOptions.defaults();
    if (chunkSize != null) {
      long size = Sizes.parse(chunkSize);
      if (size > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("--chunk-size " + chunkSize + " is larger than 4M");
      }
      options = options.withChunkSize((int) size);
    }
    if (compression != null) {
      options = options.withCompression(switch (compression.toLowerCase(java.util.Locale.ROOT)) {
        case "zstd" -> Compression.ZSTD;
        case "zstd3" -> Compression.ZSTD3;
        case "lz4" -> Compression.LZ4;
        case "none" -> Compression.NONE;
        default -> throw new IllegalArgumentException("--compression " + compression + ": use zstd, zstd3, lz4 or none");
      });
    }
    if (copyIdsFrom != null) {
      // The source's chunk size too: equal data must make equal chunks for equal ids to mean anything.
      try (ObjectStore fromStore = BackupSyncCommand.store(copyIdsFrom);
          Repository from = Repository.open(fromStore, BackupSyncCommand.key(copyIdsPassphrase, copyIdsKeyFile,
              "--copy-ids"));
          ObjectStore store = openStore();
          Repository r = io.vstore.backup.repo.RepositoryMaintenance.initSharingChunkIds(store, key, options, from)) {
        printInit(r, store, createdKeyFile);
      }
      return 0;
    }
    try (ObjectStore store = openStore();
        Repository r = Repository.init(store, key, options)) {
      printInit(r, store, createdKeyFile);
    }
    return 0;
  }

  private ObjectStore openStore() throws IOException {
    return BackupSyncCommand.store(repo);
  }

  private void printInit(Repository r, ObjectStore store, boolean createdKeyFile) {
    RepositoryConfig c = r.config();
    output.print(new Result(store.toString(), c.id(), c.chunkSize(), c.compression().name().toLowerCase(
        java.util.Locale.ROOT), c.encrypted(), createdKeyFile ? keyFile.toString() : null), BackupInitCommand::print);
  }

  static void print(PrintWriter out, Result r) {
    out.println("created backup repository " + r.repository() + " (id " + r.id() + ", " + Sizes.format(r.chunkSize())
        + " chunks, " + r.compression() + (r.encrypted() ? ", encrypted" : ", not encrypted") + ")");
    if (r.keyFile() != null) {
      out.println("created key file " + r.keyFile() + ": keep a copy somewhere safe, the data cannot be read without it");
    }
  }
}
