package io.vstore.blockstore.store;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A volume's lock ({@link VolumeState#lock}): releasing it exclusively marks the volume for the
 * next flush's staging ({@link CommitPipeline#markDirty}), since every change to a volume's maps,
 * record states, change log and catalog entry happens under it.
 */
final class MarkingLock extends ReentrantReadWriteLock {
  private final WriteLock marking;
  /** Exclusive releases so far: a volume whose count is unchanged has not changed (single writer: the holder). */
  private volatile long changes;

  MarkingLock(CommitPipeline commits, VolumeState volume) {
    marking = new WriteLock(this) {
      @Override
      public void unlock() {
        changes++; // before the release, so that whoever locks next sees the new count
        super.unlock();
        commits.markDirty(volume);
      }
    };
  }

  /** Returns how many times the lock was released exclusively: a stamp of the volume's state. */
  long changes() {
    return changes;
  }

  @Override
  public WriteLock writeLock() {
    return marking;
  }
}
