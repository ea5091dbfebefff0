package io.vstore.backup.engine;

import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryOptions;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** A datastore and an unencrypted repository with small chunks and packs, in a test's directory. */
final class BackupFixture implements Closeable {
  static final boolean CI = "true".equals(System.getenv("CI"));

  final Path dir;
  final Datastore ds;
  final DirectoryStore store;
  Repository repo;

  BackupFixture(Path dir, int chunkSize) throws IOException {
    this.dir = dir;
    this.ds = Datastore.create(Files.createDirectories(dir.resolve("ds")),
        DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO), 64L << 30);
    this.store = DirectoryStore.open(Files.createDirectories(dir.resolve("repo")));
    this.repo = Repository.init(store, null,
        RepositoryOptions.defaults().withChunkSize(chunkSize).withPackTargetBytes(256 << 10));
  }

  /** Closes and reopens the repository, as a new process would. */
  void reopenRepository() throws IOException {
    repo.close();
    repo = Repository.open(store, null);
  }

  /** Returns the whole content of {@code device}. */
  static byte[] readAll(BlockDevice device) throws IOException {
    byte[] out = new byte[Math.toIntExact(device.size())];
    device.read(0, ByteBuffer.wrap(out));
    return out;
  }

  /** Returns the first offset where {@code a} and {@code b} differ, or -1. */
  static long firstDifference(byte[] a, byte[] b) {
    return java.util.Arrays.mismatch(a, b);
  }

  @Override
  public void close() throws IOException {
    try {
      repo.close();
      store.close();
    } finally {
      ds.close();
    }
  }
}
