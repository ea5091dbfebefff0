package io.vstore.blockstore.store;

import java.util.Objects;

/**
 * How a {@link VolumeTransplant} runs.
 *
 * @param claim who may resume the transplant after a crash (a mover's job id, kept in the
 *     incoming volume's catalog entry), or null: then a crash leaves nothing to resume and the
 *     destination's next open deletes the half-built volume
 * @param flatten whether a linked clone is moved as a flat volume (what it reads from its parent
 *     is copied); without it a linked clone is refused
 * @param progress hears the history copy's progress
 */
public record TransplantOptions(String claim, boolean flatten, TransplantProgress progress) {
  public TransplantOptions {
    Objects.requireNonNull(progress, "progress");
    if (claim != null && (claim.isBlank() || claim.length() > 256)) {
      throw new IllegalArgumentException("bad transplant claim '" + claim + "': 1 to 256 characters, not blank");
    }
  }

  /** Returns the defaults: unclaimed, no flattening, no progress reports. */
  public static TransplantOptions defaults() {
    return new TransplantOptions(null, false, TransplantProgress.NONE);
  }

  /** Returns these options with claim {@code id} (null: unclaimed). */
  public TransplantOptions withClaim(String id) {
    return new TransplantOptions(id, flatten, progress);
  }

  /** Returns these options flattening linked clones, or not. */
  public TransplantOptions withFlatten(boolean on) {
    return new TransplantOptions(claim, on, progress);
  }

  /** Returns these options reporting to {@code listener}. */
  public TransplantOptions withProgress(TransplantProgress listener) {
    return new TransplantOptions(claim, flatten, listener);
  }
}
