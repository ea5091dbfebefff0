package io.vstore.blockstore.store;

/**
 * A volume's last computed head figures, kept so that listing many volumes does not compute them
 * again for volumes that did not change: the {data, unique, shared} bytes of its head, and the
 * {@link VolumeInfo} built from them.
 */
final class HeadFigures {
  /** The head's last space figures and the state they were computed for. */
  private volatile SpaceFigures space;
  /** The figures {@link VolumeInfo#of} last returned, reused while they are still exact. */
  volatile VolumeInfo lastInfo;

  private record SpaceFigures(long stamp, long blocks, long[] figures) {}

  /**
   * Returns the head's space figures, computed again only when {@code lock} recorded a change
   * or the size in blocks changed since the last call.
   */
  long[] space(MarkingLock lock, long blocks, VolumeView head) {
    long stamp = lock.changes(); // read first: a change made during the computation forces the next one
    SpaceFigures c = space;
    if (c != null && c.stamp() == stamp && c.blocks() == blocks) {
      return c.figures();
    }
    long[] figures = head.space();
    space = new SpaceFigures(stamp, blocks, figures);
    return figures;
  }
}
