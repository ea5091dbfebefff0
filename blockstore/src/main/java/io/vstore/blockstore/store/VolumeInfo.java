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

  /**
   * Returns the figures of volume {@code v} as they are now (its change id as of its last flush):
   * the object returned last time when every figure is still the same, so that listing 10,000
   * mostly idle volumes allocates next to nothing (it made 4 MB of garbage per listing, and the
   * daemon's collector paused for every ~35 listings).
   */
  static VolumeInfo of(VolumeState v) {
    long[] space = v.headSpace();
    VolumeState parent;
    SnapshotState parentSnapshot;
    int snapshotCount;
    v.lock.readLock().lock();
    try {
      parent = v.parent();
      parentSnapshot = v.parentSnapshot();
      snapshotCount = v.snapshots().size();
    } finally {
      v.lock.readLock().unlock();
    }
    String name = v.name;
    long size = v.size;
    long allocated = v.allocatedBytes();
    long mapped = v.mappedBlocks() * VolumeState.BLOCK;
    long generation = v.committedGeneration();
    VolumeInfo last = v.figures.lastInfo;
    if (last != null && last.name.equals(name) && last.size == size && last.allocated == allocated
        && last.mapped == mapped && last.unique == space[1] && last.shared == space[2]
        && last.generation == generation && last.snapshots == snapshotCount
        && sameParent(last.parent, parent, parentSnapshot)) {
      return last;
    }
    String changeId = last != null && last.generation == generation ? last.changeId
        : ChangeTracking.changeId(v.uuid, generation);
    VolumeInfo now = new VolumeInfo(name, last != null ? last.uuid : v.uuid.toString(), size, allocated, mapped,
        space[1], space[2], changeId, generation, parent == null ? null : parent.name + "@" + parentSnapshot.name(),
        snapshotCount, v.created);
    v.figures.lastInfo = now;
    return now;
  }

  /** Returns whether {@code shown} is {@code parent@snapshot} (or both are absent), without building that string. */
  private static boolean sameParent(String shown, VolumeState parent, SnapshotState snapshot) {
    if (parent == null || shown == null) {
      return parent == null && shown == null;
    }
    String volume = parent.name;
    String snap = snapshot.name();
    return shown.length() == volume.length() + 1 + snap.length() && shown.startsWith(volume)
        && shown.charAt(volume.length()) == '@' && shown.endsWith(snap);
  }
}
