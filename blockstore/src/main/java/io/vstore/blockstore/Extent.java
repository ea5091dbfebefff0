package io.vstore.blockstore;

/**
 * A byte range of a device and what it holds, as NBD's block status and {@code qemu-img map}
 * report it.
 *
 * @param offset first byte of the range
 * @param length number of bytes, positive
 * @param kind what the range holds
 */
public record Extent(long offset, long length, Kind kind) {

  /** What a range of a device holds. */
  public enum Kind {
    /** Allocated, may hold non-zero bytes. */
    DATA,
    /** Allocated (or recorded) as zeros: reads zeros without holding data. */
    ZERO,
    /** Not allocated: reads zeros (or, for a device with history, falls through to nothing). */
    HOLE;

    /** Returns whether every byte of a range of this kind reads as zero. */
    public boolean readsAsZeros() {
      return this != DATA;
    }
  }

  public Extent {
    if (offset < 0 || length <= 0 || offset + length < 0) {
      throw new IllegalArgumentException("bad extent: offset " + offset + " length " + length);
    }
  }

  /** Returns the first byte after the range. */
  public long end() {
    return offset + length;
  }
}
