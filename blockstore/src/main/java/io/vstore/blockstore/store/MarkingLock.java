package io.vstore.blockstore.store;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A volume's lock ({@link VolumeState#lock}): releasing it exclusively marks the volume for the
 * next flush's staging ({@link CommitPipeline#markDirty}), since every change to a volume's maps,
 * record states, change log and catalog entry happens under it.
 */
final class MarkingLock extends ReentrantReadWriteLock {
  private final WriteLock marking;

  MarkingLock(CommitPipeline commits, VolumeState volume) {
    marking = new WriteLock(this) {
      @Override
      public void unlock() {
        super.unlock();
        commits.markDirty(volume);
      }
    };
  }

  @Override
  public WriteLock writeLock() {
    return marking;
  }
}
