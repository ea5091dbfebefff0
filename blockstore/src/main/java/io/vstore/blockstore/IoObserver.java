package io.vstore.blockstore;

/**
 * Hears of every completed operation on a volume's data, for metrics. Called on the I/O path
 * (tens of thousands of times a second) by the thread that did the operation: implementations
 * must be thread-safe, must not block, lock or allocate per call, and must not throw.
 */
public interface IoObserver {
  /** What kind of operation completed. */
  enum Op {
    READ,
    WRITE,
    ZERO,
    DISCARD,
    FLUSH;

    /** Returns the name metrics and logs use for this kind: lower case. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * Records that {@code op} on volume {@code volume} completed, covering {@code bytes} bytes
   * (0 for a flush) in {@code nanos} nanoseconds. Failed operations are not reported.
   */
  void completed(String volume, Op op, long bytes, long nanos);

  /** Forgets volume {@code volume}, which was deleted: its figures go with it. */
  default void volumeDeleted(String volume) {}
}
