package io.vstore.backup.repo;

import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.time.Instant;

/**
 * The {@code config} object, written once at init and never encrypted (it says whether the rest is).
 * Body, version 1, big-endian:
 *
 * <pre>
 *  0 16  repository id
 * 16  4  chunk size
 * 20  1  compression code (1 zstd, 2 zstd-3, 3 lz4, 4 none)
 * 21  1  1 if encrypted
 * 22  4  chunks per page
 * 26  8  creation time, epoch milliseconds
 * 34  2  n = length of the chunk-id key field
 * 36  n  the chunk-id key: 32 bytes plain, or sealed under the data key (60 bytes, the repository
 *        id as associated data) so that a key object of another repository is recognised as such
 * </pre>
 */
record ConfigObject(byte[] repoId, int chunkSize, Compression compression, boolean encrypted, int pageChunks,
    long createdMillis, byte[] chunkKeyField) {
  static final String KEY = "config";
  static final int VERSION = 1;
  static final int MAX_PAGE_CHUNKS = 1 << 20;

  RepositoryConfig toConfig() {
    return new RepositoryConfig(Hex.of(repoId), chunkSize, compression, encrypted, pageChunks,
        Instant.ofEpochMilli(createdMillis));
  }

  byte[] write() {
    ByteBuffer b = ByteBuffer.allocate(36 + chunkKeyField.length);
    b.put(repoId).putInt(chunkSize).put((byte) compression.code()).put((byte) (encrypted ? 1 : 0)).putInt(pageChunks)
        .putLong(createdMillis).putShort((short) chunkKeyField.length).put(chunkKeyField);
    return Envelope.write(Envelope.CONFIG, VERSION, b.flip(), null, KEY);
  }

  static ConfigObject read(byte[] obj) throws CorruptObjectException, UnsupportedFormatException {
    ByteBuffer b = Envelope.read(obj, 0, obj.length, Envelope.CONFIG, VERSION, null, KEY);
    String what = "config";
    Envelope.need(b, 36, KEY, what, "fixed fields");
    byte[] id = new byte[16];
    b.get(id);
    int chunkSize = b.getInt();
    try {
      RepositoryOptions.checkChunkSize(chunkSize);
    } catch (IllegalArgumentException e) {
      throw Envelope.corrupt(KEY, what, e.getMessage());
    }
    int code = b.get() & 0xff;
    Compression compression = Compression.ofCode(code);
    if (compression == null) {
      throw Envelope.corrupt(KEY, what, "unknown compression code " + code);
    }
    int enc = b.get() & 0xff;
    if (enc > 1) {
      throw Envelope.corrupt(KEY, what, "encrypted flag " + enc + ", expected 0 or 1");
    }
    int pageChunks = b.getInt();
    if (pageChunks < 1 || pageChunks > MAX_PAGE_CHUNKS) {
      throw Envelope.corrupt(KEY, what, "chunks per page " + pageChunks + " out of range 1.." + MAX_PAGE_CHUNKS);
    }
    long created = b.getLong();
    int n = b.getShort() & 0xffff;
    int expected = enc == 1 ? 32 + io.vstore.backup.crypto.Aead.OVERHEAD : 32;
    if (n != expected) {
      throw Envelope.corrupt(KEY, what, "chunk-id key field of " + n + " bytes, expected " + expected);
    }
    Envelope.need(b, n, KEY, what, "chunk-id key");
    byte[] field = new byte[n];
    b.get(field);
    return new ConfigObject(id, chunkSize, compression, enc == 1, pageChunks, created, field);
  }
}
