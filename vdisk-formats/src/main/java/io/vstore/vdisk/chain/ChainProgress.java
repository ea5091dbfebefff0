package io.vstore.vdisk.chain;

/**
 * Hears how far a chain import or export has got; called from the copying threads, possibly
 * concurrently and with values out of order, so implementations keep the largest they have seen.
 */
@FunctionalInterface
public interface ChainProgress {
  /** A listener that ignores every report. */
  ChainProgress NONE = (done, total) -> { };

  /** Reports that about {@code done} of {@code total} units of work (bytes of guest data scanned) are done. */
  void progressed(long done, long total);
}
