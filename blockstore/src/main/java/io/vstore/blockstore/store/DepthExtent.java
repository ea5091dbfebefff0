package io.vstore.blockstore.store;

/**
 * A byte range of a volume view and the layer of its clone chain that holds it, as QEMU's
 * {@code qemu:allocation-depth} reports it.
 *
 * @param offset first byte of the range
 * @param length number of bytes, positive
 * @param depth 0 where no layer holds the range (it reads zeros from nowhere), 1 where the volume
 *     itself does (its head, its snapshots or a flattened clone's copied-up base), 2 where the
 *     snapshot it is a linked clone of does, 3 for that snapshot's own parent, and so on
 */
public record DepthExtent(long offset, long length, int depth) {

  public DepthExtent {
    if (offset < 0 || length <= 0 || offset + length < 0 || depth < 0) {
      throw new IllegalArgumentException("bad depth extent: offset " + offset + " length " + length + " depth " + depth);
    }
  }

  /** Returns the first byte after the range. */
  public long end() {
    return offset + length;
  }
}
