package io.vstore.blockstore.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * RocksDB key layouts. Keys are big-endian so that RocksDB's bytewise order is numeric order:
 * a volume's map entries sort by block, a segment's records by offset.
 */
final class Keys {
  private Keys() {}

  /** Returns the 16-byte key {@code a || b}, both big-endian. */
  static byte[] pair(long a, long b) {
    return ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).putLong(a).putLong(b).array();
  }

  /** Returns the first long of a 16-byte key. */
  static long first(byte[] key) {
    return ByteBuffer.wrap(key).order(ByteOrder.BIG_ENDIAN).getLong(0);
  }

  /** Returns the second long of a 16-byte key. */
  static long second(byte[] key) {
    return ByteBuffer.wrap(key).order(ByteOrder.BIG_ENDIAN).getLong(8);
  }

  /** Returns a catalog key: a one-letter kind, a slash and a big-endian id. */
  static byte[] catalog(char kind, long id) {
    return ByteBuffer.allocate(10).put((byte) kind).put((byte) '/').putLong(id).array();
  }

  /** Returns the catalog key prefix for {@code kind}. */
  static byte[] catalogPrefix(char kind) {
    return new byte[] {(byte) kind, (byte) '/'};
  }

  /** Returns the id of a catalog key made by {@link #catalog}. */
  static long catalogId(byte[] key) {
    return ByteBuffer.wrap(key).getLong(2);
  }

  /** Encodes a catalog number (a counter, a segment's live bytes): 8 bytes, little-endian. */
  static byte[] catalogLong(long v) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
  }

  /** Decodes a catalog number made by {@link #catalogLong(long)}. */
  static long catalogLong(byte[] value) {
    return ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }
}
