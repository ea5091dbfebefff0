package io.vstore.backup.repo;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;

/** The 32-byte id of a chunk: HMAC-SHA256 of its plaintext under the repository's chunk-id key. */
public final class ChunkId implements Comparable<ChunkId> {
  /** Bytes of an id. */
  public static final int BYTES = 32;
  /** The all-zero id, which stands for a hole in pages; no chunk has it. */
  static final ChunkId ZERO = new ChunkId(new byte[BYTES]);

  private final byte[] bytes;

  private ChunkId(byte[] bytes) {
    this.bytes = bytes;
  }

  /** Returns the id made of these 32 bytes (copied). */
  public static ChunkId of(byte[] bytes) {
    if (bytes.length != BYTES) {
      throw new IllegalArgumentException("chunk id must be 32 bytes, not " + bytes.length);
    }
    return new ChunkId(bytes.clone());
  }

  /** Returns the id in the next 32 bytes of {@code buf}, moving its position. */
  public static ChunkId read(ByteBuffer buf) {
    byte[] b = new byte[BYTES];
    buf.get(b);
    return new ChunkId(b);
  }

  /** Returns the id written as 64 hex digits. */
  public static ChunkId fromHex(String hex) {
    if (hex.length() != 2 * BYTES) {
      throw new IllegalArgumentException("chunk id must be 64 hex digits: '" + hex + "'");
    }
    return new ChunkId(HexFormat.of().parseHex(hex));
  }

  static ChunkId wrap(byte[] bytes) {
    assert bytes.length == BYTES;
    return new ChunkId(bytes);
  }

  /** Writes the 32 bytes into {@code buf}, moving its position. */
  public void write(ByteBuffer buf) {
    buf.put(bytes);
  }

  /** Returns a copy of the 32 bytes. */
  public byte[] toBytes() {
    return bytes.clone();
  }

  byte[] bytesUnsafe() {
    return bytes;
  }

  /** Returns the 8 bytes at {@code index*8} as a big-endian long (index 0..3). */
  long word(int index) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (bytes[index * 8 + i] & 0xff);
    }
    return v;
  }

  boolean isZero() {
    for (byte b : bytes) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  /** Returns the 64 hex digits. */
  public String hex() {
    return HexFormat.of().formatHex(bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChunkId other && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return (bytes[0] & 0xff) << 24 | (bytes[1] & 0xff) << 16 | (bytes[2] & 0xff) << 8 | (bytes[3] & 0xff);
  }

  @Override
  public int compareTo(ChunkId o) {
    return Arrays.compareUnsigned(bytes, o.bytes);
  }

  @Override
  public String toString() {
    return hex();
  }
}
