package io.vstore.blockstore.store;

/**
 * What the cleaner has done since the datastore was opened, over all its passes (background,
 * explicit, and those forced by a full datastore).
 *
 * @param runs cleaning passes started
 * @param segmentsCleaned segment files rewritten and deleted
 * @param bytesMoved stored bytes of live records copied out of them
 * @param bytesReclaimed file bytes released, less what was copied
 */
public record CleanerStats(long runs, long segmentsCleaned, long bytesMoved, long bytesReclaimed) {
  /** Nothing done yet. */
  static final CleanerStats NONE = new CleanerStats(0, 0, 0, 0);

  /** Returns these totals with one more pass that cleaned {@code segments}, moved and reclaimed these bytes. */
  CleanerStats plus(long segments, long moved, long reclaimed) {
    return new CleanerStats(runs + 1, segmentsCleaned + segments, bytesMoved + moved, bytesReclaimed + reclaimed);
  }
}
