package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The lock file that lets one process at a time own a datastore. */
final class DatastoreLock implements AutoCloseable {
  static final String FILE = "lock";
  private final FileChannel channel;
  private final FileLock lock;

  private DatastoreLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** Takes the lock of {@code dir}, or fails naming the process that holds it. */
  static DatastoreLock acquire(Path dir) throws IOException {
    Path file = dir.resolve(FILE);
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by this very process
    }
    if (lock == null) {
      ByteBuffer owner = ByteBuffer.allocate(64);
      ch.read(owner, 0);
      ch.close();
      String pid = new String(owner.array(), 0, owner.position(), StandardCharsets.US_ASCII).trim();
      throw new DatastoreException("datastore " + dir + " is in use by another process"
          + (pid.isEmpty() ? "" : " (pid " + pid + ")"));
    }
    ch.truncate(0);
    ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
    return new DatastoreLock(ch, lock);
  }

  @Override
  public void close() throws IOException {
    try {
      lock.release();
    } finally {
      channel.close();
    }
  }
}
