package io.vstore.cli;

import io.vstore.backup.maint.LockKind;
import io.vstore.backup.maint.LockedRepository;
import io.vstore.backup.maint.RepositoryLock;
import io.vstore.backup.repo.KeySource;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.backup.store.ObjectStores;
import io.vstore.backup.store.S3Location;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code --repo} and key options of a command on a backup repository: where the repository is
 * and what unlocks it ({@code --passphrase-file}, {@code --key-file}, else the environment's
 * {@code VSTORE_BACKUP_PASSPHRASE}, else nothing: an unencrypted repository). Never a passphrase on the
 * command line, where other users' {@code ps} would show it.
 */
@Command
final class BackupRepoOptions {
  /** Environment variable holding a passphrase. */
  static final String PASSPHRASE_ENV = "VSTORE_BACKUP_PASSPHRASE";

  @Option(names = "--repo", required = true, paramLabel = "REPO",
      description = "The backup repository: a directory (or s3://BUCKET[/PREFIX] where S3 is supported).")
  String repo;

  @Option(names = "--passphrase-file", paramLabel = "FILE",
      description = "Read the repository's passphrase from FILE (else ${env:" + PASSPHRASE_ENV + "} if set).")
  Path passphraseFile;

  @Option(names = "--key-file", paramLabel = "FILE", description = "Unlock the repository with the key file FILE.")
  Path keyFile;

  /** Returns what unlocks the repository, or null for none. */
  KeySource key() throws IOException {
    if (passphraseFile != null && keyFile != null) {
      throw new IllegalArgumentException("give --passphrase-file or --key-file, not both");
    }
    if (passphraseFile != null) {
      return KeySource.fromPassphraseFile(passphraseFile);
    }
    if (keyFile != null) {
      return KeySource.fromKeyFile(keyFile);
    }
    String env = System.getenv(PASSPHRASE_ENV);
    return env == null || env.isEmpty() ? null : new KeySource.Passphrase(env.toCharArray());
  }

  /** Opens the repository's object store (the one place that turns a location into a store). */
  ObjectStore store() throws IOException {
    return store(repo);
  }

  /**
   * Opens the object store of repository location {@code repo}: {@code s3://...} (endpoint and keys
   * from this process's environment) or a directory, relative to the client's working directory.
   */
  static ObjectStore store(String repo) throws IOException {
    if (S3Location.isS3(repo)) {
      return ObjectStores.open(repo);
    }
    return DirectoryStore.open(DaemonContext.path(repo));
  }

  /**
   * An open repository and the store it lives in, and the lock taken before it was opened (or null);
   * closing it closes the repository, releases the lock, then closes the store (a repository leaves
   * its store open).
   */
  record Opened(Repository repo, ObjectStore store, RepositoryLock lock) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      try {
        repo.close();
      } finally {
        try {
          if (lock != null) {
            lock.close();
          }
        } finally {
          store.close();
        }
      }
    }
  }

  /** Opens the repository with the key the options give, without a lock (for commands that only look). */
  Opened open() throws IOException {
    return open(null, null);
  }

  /**
   * Opens the repository with the key the options give, under a lock of {@code kind} taken first (gc
   * keeps what a locked backup, restore or sync may use); no lock when {@code kind} is null.
   *
   * @param detail what the holder works on (a source, a point), for people and gc's notes
   */
  Opened open(LockKind kind, String detail) throws IOException {
    ObjectStore store = store();
    boolean success = false;
    try {
      Opened opened;
      if (kind == null) {
        opened = new Opened(Repository.open(store, key()), store, null);
      } else {
        LockedRepository locked = LockedRepository.open(store, key(), kind, detail);
        opened = new Opened(locked.repo(), store, locked.lock());
      }
      success = true;
      return opened;
    } finally {
      if (!success) {
        store.close();
      }
    }
  }
}
