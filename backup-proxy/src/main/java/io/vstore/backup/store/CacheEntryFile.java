package io.vstore.backup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.zip.CRC32C;

/**
 * One cached object in a {@link CachingStore}'s directory: the object's bytes and the remote
 * store's description of it (key, size, time), so that a listing or a stat can tell whether the
 * cached copy is still the remote object.
 *
 * <pre>
 * offset  size  field (little-endian)
 *      0     4  magic "VSCO"
 *      4     2  version (1)
 *      6     2  key length K (1..512)
 *      8     K  key (ASCII)
 *    8+K     8  remote size in bytes (= data length)
 *   16+K     8  remote modification time, seconds since the epoch
 *   24+K     4  remote modification time, nanoseconds
 *   28+K     N  data (N = remote size)
 * 28+K+N     4  CRC32C of every byte before it
 * </pre>
 */
record CacheEntryFile(ObjectInfo info, byte[] data) {
  static final int MAGIC = 0x4f43_5356;   // "VSCO" read little-endian
  static final short VERSION = 1;
  /** Bytes a header can take at most: enough to read the key and sizes without the data. */
  static final int MAX_HEADER = 28 + ObjectKeys.MAX_LENGTH;

  /** Returns the file's bytes. */
  ByteBuffer encode() {
    byte[] key = info.key().getBytes(StandardCharsets.US_ASCII);
    ByteBuffer b = ByteBuffer.allocate(28 + key.length + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(MAGIC).putShort(VERSION).putShort((short) key.length).put(key)
        .putLong(info.size()).putLong(info.modified().getEpochSecond()).putInt(info.modified().getNano())
        .put(data);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    return b.flip();
  }

  /** Reads the header only (the start of a file): the remote object's description. */
  static ObjectInfo readHeader(ByteBuffer head, String file) throws IOException {
    head.order(ByteOrder.LITTLE_ENDIAN);
    if (head.remaining() < 8 || head.getInt() != MAGIC) {
      throw new IOException("not a cache entry: " + file);
    }
    short version = head.getShort();
    if (version != VERSION) {
      throw new IOException("unsupported cache entry version " + version + " (want " + VERSION + "): " + file);
    }
    int keyLength = Short.toUnsignedInt(head.getShort());
    if (keyLength < 1 || keyLength > ObjectKeys.MAX_LENGTH || head.remaining() < keyLength + 20) {
      throw new IOException("bad cache entry: key length " + keyLength + " in " + file);
    }
    byte[] key = new byte[keyLength];
    head.get(key);
    long size = head.getLong();
    long seconds = head.getLong();
    int nanos = head.getInt();
    if (size < 0 || nanos < 0 || nanos > 999_999_999) {
      throw new IOException("bad cache entry: size " + size + ", nanos " + nanos + " in " + file);
    }
    try {
      return new ObjectInfo(ObjectKeys.check(new String(key, StandardCharsets.US_ASCII)), size,
          Instant.ofEpochSecond(seconds, nanos));
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      throw new IOException("bad cache entry: " + e.getMessage() + " in " + file);
    }
  }

  /** Decodes a whole file, checking its length and checksum. */
  static CacheEntryFile decode(byte[] file, String name) throws IOException {
    ObjectInfo info = readHeader(ByteBuffer.wrap(file), name);
    int keyLength = info.key().length();
    long expected = 28L + keyLength + info.size() + 4;
    if (file.length != expected) {
      throw new IOException("bad cache entry: " + file.length + " bytes, header says " + expected + ": " + name);
    }
    CRC32C crc = new CRC32C();
    crc.update(file, 0, file.length - 4);
    int stored = ByteBuffer.wrap(file, file.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    if (stored != (int) crc.getValue()) {
      throw new IOException("bad cache entry: CRC32C mismatch in " + name);
    }
    byte[] data = java.util.Arrays.copyOfRange(file, 28 + keyLength, file.length - 4);
    return new CacheEntryFile(info, data);
  }
}
