package io.vstore.vdisk;

import java.io.IOException;
import java.util.function.LongPredicate;

/**
 * Walks a byte range inside a block in runs of sectors whose bitmap bit is the same, for the
 * formats whose differencing blocks say per sector whether the data is here or in the parent.
 */
public final class SectorRuns {
  private SectorRuns() {}

  /** One run of sectors that are all present or all absent. */
  @FunctionalInterface
  public interface Run {
    /** Handles bytes {@code [from, to)} of the block, whose sectors are all present or all absent. */
    void apply(long from, long to, boolean present) throws IOException;
  }

  /**
   * Splits bytes {@code [from, to)} of a block into runs; {@code present} tells whether the
   * sector with the given index in the block is present.
   */
  public static void each(long from, long to, long sectorSize, LongPredicate present, Run run) throws IOException {
    long pos = from;
    while (pos < to) {
      boolean here = present.test(pos / sectorSize);
      long runEnd = Math.min(to, (pos / sectorSize + 1) * sectorSize);
      while (runEnd < to && present.test(runEnd / sectorSize) == here) {
        runEnd = Math.min(to, runEnd + sectorSize);
      }
      run.apply(pos, runEnd, here);
      pos = runEnd;
    }
  }
}
