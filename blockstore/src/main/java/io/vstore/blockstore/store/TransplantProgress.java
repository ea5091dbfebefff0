package io.vstore.blockstore.store;

/** Hears how far a {@link VolumeTransplant} has copied a volume's history. */
@FunctionalInterface
public interface TransplantProgress {
  /** Reports nothing. */
  TransplantProgress NONE = (snapshot, index, count, bytes) -> {};

  /**
   * Reports that the copy of snapshot {@code snapshot} (number {@code index} of {@code count},
   * from 1, oldest first) is under way and that {@code bytes} have been copied so far in all.
   */
  void copied(String snapshot, int index, int count, long bytes);
}
