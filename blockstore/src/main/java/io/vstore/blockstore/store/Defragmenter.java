package io.vstore.blockstore.store;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Notes which 1 MiB windows of a volume's head reads found fragmented, for the cleaner to write
 * back in logical order ({@link VolumeWriter#defragment}). A log-structured store scatters a
 * range's blocks over the segments as they are overwritten at random: a 1 MiB read of such a
 * range becomes up to 256 small reads in as many places. Reads measure it for free (the pieces a
 * planned read needs), so the windows that get rewritten are the ones that are read, not every
 * window that random writes touched.
 */
final class Defragmenter {
  /** A window: the blocks of one record of the largest size, aligned to it. */
  static final int WINDOW_BLOCKS = RecordHeader.MAX_BLOCKS;
  /** A window read with at least this many file reads per MiB counts as fragmented. */
  static final int MIN_READS_PER_WINDOW = 8;
  /** Windows kept at most; more are dropped until the cleaner takes them (it comes again). */
  private static final int MAX_NOTED = 4096;
  private final Set<Long> noted = ConcurrentHashMap.newKeySet();

  /**
   * Notes the windows that blocks {@code [from, to)} lie in as fragmented when reading them took
   * {@code fileReads} file reads; only windows read whole count (a small read says nothing of
   * its window).
   */
  void noteRead(long from, long to, int fileReads) {
    long firstWindow = (from + WINDOW_BLOCKS - 1) / WINDOW_BLOCKS;
    long endWindow = to / WINDOW_BLOCKS;
    long windows = endWindow - firstWindow;
    if (windows <= 0 || fileReads < MIN_READS_PER_WINDOW * windows) {
      return;
    }
    for (long w = firstWindow; w < endWindow && noted.size() < MAX_NOTED; w++) {
      noted.add(w);
    }
  }

  /** Notes window {@code window} (block {@code window * WINDOW_BLOCKS} on) as fragmented. */
  void note(long window) {
    if (noted.size() < MAX_NOTED) {
      noted.add(window);
    }
  }

  /** Removes and returns up to {@code max} noted windows, lowest first. */
  long[] take(int max) {
    long[] out = noted.stream().sorted().limit(max).mapToLong(Long::longValue).toArray();
    for (long w : out) {
      noted.remove(w);
    }
    return out;
  }

  /** Returns how many windows are noted. */
  int size() {
    return noted.size();
  }
}
