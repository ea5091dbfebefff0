package io.vstore.blockstore.store;

import java.io.IOException;

/**
 * Asked before a volume or snapshot is deleted whether something outside the engine still serves
 * it (the daemon's NBD exports); throws to refuse, with a message naming what holds it.
 */
@FunctionalInterface
public interface DeletionGuard {
  /** Allows nothing to be refused. */
  DeletionGuard NONE = (volume, snapshot) -> {};

  /**
   * Checks that {@code volume} (with all its snapshots when {@code snapshot} is null) or its
   * snapshot {@code snapshot} may be deleted.
   *
   * @throws IllegalStateException naming what still uses it
   */
  void check(String volume, String snapshot) throws IOException;
}
