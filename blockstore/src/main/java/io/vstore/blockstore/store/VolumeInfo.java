package io.vstore.blockstore.store;

/**
 * What {@code volume info} reports about one volume.
 *
 * @param name the volume's name
 * @param uuid its identity (the first half of its change ids)
 * @param size virtual size in bytes
 * @param allocated bytes its live records occupy in the datastore (after compression), snapshots
 *     included
 * @param mapped bytes of data the head holds itself (before compression)
 * @param unique bytes of data only the head references (before compression)
 * @param shared bytes of data the head shares with its snapshots or a parent (before compression)
 * @param changeId the change id of the current state, for changed-block tracking
 * @param generation the last committed generation
 * @param parent the snapshot this is a linked clone of ({@code volume@snapshot}), or null
 * @param snapshots number of snapshots
 * @param created creation time, ISO-8601
 */
public record VolumeInfo(String name, String uuid, long size, long allocated, long mapped, long unique, long shared,
    String changeId, long generation, String parent, int snapshots, String created) {

  /** Returns the figures of volume {@code v} as they are now (its change id as of its last flush). */
  static VolumeInfo of(VolumeState v) {
    long[] space = v.headSpace();
    String parent;
    int snapshotCount;
    v.lock.readLock().lock();
    try {
      parent = v.parent() == null ? null : v.parent().name + "@" + v.parentSnapshot().name();
      snapshotCount = v.snapshots().size();
    } finally {
      v.lock.readLock().unlock();
    }
    return new VolumeInfo(v.name, v.uuid.toString(), v.size, v.allocatedBytes(), v.mappedBlocks() * VolumeState.BLOCK,
        space[1], space[2], ChangeTracking.changeId(v, null), v.committedGeneration(), parent, snapshotCount, v.created);
  }
}
