package io.vstore.blockstore;

/** Thrown when a request reaches outside a device: a caller's mistake, nothing is changed. */
public final class OutOfRangeException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public OutOfRangeException(String message) {
    super(message);
  }

  /**
   * Checks that {@code [offset, offset + length)} lies inside {@code device}, and throws naming the
   * device otherwise.
   */
  public static void check(BlockDevice device, long offset, long length) {
    long size = device.size();
    if (offset < 0 || length < 0 || offset > size || length > size - offset) {
      throw new OutOfRangeException(
          device + ": range offset " + offset + " length " + length + " is outside the device (size " + size + ")");
    }
  }
}
