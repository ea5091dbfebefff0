package io.vstore.offline;

/**
 * One frame of a transfer stream: {@link Type#DATA} carries {@code length} bytes for {@code disk}
 * at {@code offset} (in {@code data}, decompressed and checked), {@link Type#ZERO} says the range
 * reads as zeros, {@link Type#END} closes the stream and carries the number of frames before it in
 * {@code offset}.
 */
public record Frame(Type type, int disk, long offset, int length, byte[] data) {
  /** What a frame says. */
  public enum Type {
    /** Bytes of a range. */
    DATA,
    /** A range that reads as zeros. */
    ZERO,
    /** The end of the stream. */
    END
  }
}
