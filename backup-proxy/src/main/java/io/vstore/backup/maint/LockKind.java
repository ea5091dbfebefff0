package io.vstore.backup.maint;

import java.util.Locale;

/** What a process holding a repository lock is doing. */
public enum LockKind {
  /** Writes packs, an index and a point; may reference any chunk the index listed when it began. */
  BACKUP,
  /** Deletes manifests. */
  PRUNE,
  /** Collects garbage packs; at most one runs at a time. */
  GC,
  /** Copies points into this repository (a writer, like a backup) or out of it (a reader). */
  SYNC,
  /** Reads a point's chunks. */
  RESTORE;

  /**
   * Returns whether a lock of this kind may use chunks that gc has made candidates for deletion, so
   * that gc must wait for it to end: every kind that reads or writes chunks.
   */
  public boolean usesChunks() {
    return this == BACKUP || this == SYNC || this == RESTORE;
  }

  /** Returns the name used in lock objects and messages ({@code backup}, {@code gc}, ...). */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Returns the kind of a label, or throws naming it. */
  public static LockKind ofLabel(String label) {
    for (LockKind k : values()) {
      if (k.label().equals(label)) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown lock kind '" + label + "'");
  }
}
