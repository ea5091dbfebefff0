package io.vstore.nbd;

/**
 * One block-status descriptor: a run of bytes and the flags a metadata context gives it.
 *
 * @param length number of bytes, positive
 * @param flags the context's flags for the run (for {@code base:allocation}: bit 0 hole, bit 1
 *     zero; for {@code qemu:dirty-bitmap:*}: bit 0 dirty; for {@code qemu:allocation-depth}: the
 *     depth)
 */
public record StatusExtent(long length, int flags) {
  public StatusExtent {
    if (length <= 0) {
      throw new IllegalArgumentException("bad status extent: length " + length);
    }
  }
}
