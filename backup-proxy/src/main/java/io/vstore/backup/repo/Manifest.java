package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code points/<16 hex>} object: a backup point's metadata and the root of its chunk map. Written
 * last, with a conditional put; a point exists iff its manifest does. Body (sealed when encrypted),
 * version 1, big-endian:
 *
 * <pre>
 *  8  time, epoch seconds        4  nanoseconds
 *  8  volume size in bytes       4  chunk size          4  chunks per page
 *  8  bytes (data held)          8  new bytes (stored)  8  bytes read
 *  strings, each u16 length (0xffff = null) + UTF-8: source, kind, group, change id, base point id
 *  u16 tag count, tags as strings
 *  u32 page count (= ceil(chunks / chunks per page)), then a 32-byte page id per page (zeros: all holes)
 * </pre>
 */
record Manifest(PointInfo info, int chunkSize, int pageChunks, long bytesRead, ChunkId[] root) {
  static final int VERSION = 1;
  static final String PREFIX = "points/";
  static final int MAX_TAGS = 1024;

  static long pageCount(long sizeBytes, int chunkSize, int pageChunks) {
    long chunks = (sizeBytes + chunkSize - 1) / chunkSize;
    return (chunks + pageChunks - 1) / pageChunks;
  }

  byte[] write(Aead aead, String objectKey) {
    PointInfo i = info;
    int size = 12 + 20 + 24 + Envelope.stringBytes(i.source()) + Envelope.stringBytes(i.kind())
        + Envelope.stringBytes(i.group()) + Envelope.stringBytes(i.changeId()) + Envelope.stringBytes(i.base()) + 2
        + 4 + root.length * ChunkId.BYTES;
    for (String t : i.tags()) {
      size += Envelope.stringBytes(t);
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putLong(i.time().getEpochSecond()).putInt(i.time().getNano());
    b.putLong(i.sizeBytes()).putInt(chunkSize).putInt(pageChunks);
    b.putLong(i.bytes()).putLong(i.newBytes()).putLong(bytesRead);
    Envelope.putString(b, i.source());
    Envelope.putString(b, i.kind());
    Envelope.putString(b, i.group());
    Envelope.putString(b, i.changeId());
    Envelope.putString(b, i.base());
    b.putShort((short) i.tags().size());
    for (String t : i.tags()) {
      Envelope.putString(b, t);
    }
    b.putInt(root.length);
    for (ChunkId p : root) {
      (p == null ? ChunkId.ZERO : p).write(b);
    }
    return Envelope.write(Envelope.MANIFEST, VERSION, b.flip(), aead, objectKey);
  }

  static Manifest read(byte[] obj, Aead aead, String pointId, int repoChunkSize)
      throws CorruptObjectException, UnsupportedFormatException {
    String key = PREFIX + pointId;
    String what = "point manifest";
    ByteBuffer b = Envelope.read(obj, 0, obj.length, Envelope.MANIFEST, VERSION, aead, key);
    Envelope.need(b, 56, key, what, "fixed fields");
    long seconds = b.getLong();
    int nanos = b.getInt();
    long sizeBytes = b.getLong();
    int chunkSize = b.getInt();
    int pageChunks = b.getInt();
    long bytes = b.getLong();
    long newBytes = b.getLong();
    long bytesRead = b.getLong();
    if (nanos < 0 || nanos > 999_999_999 || seconds < -31_557_014_167_219_200L || seconds > 31_556_889_864_403_199L) {
      throw Envelope.corrupt(key, what, "time " + seconds + "." + nanos + " out of range");
    }
    if (chunkSize != repoChunkSize) {
      throw Envelope.corrupt(key, what, "chunk size " + chunkSize + ", the repository's is " + repoChunkSize);
    }
    if (pageChunks < 1 || pageChunks > ConfigObject.MAX_PAGE_CHUNKS || sizeBytes < 0 || bytes < 0 || bytes > sizeBytes
        || newBytes < 0 || bytesRead < 0) {
      throw Envelope.corrupt(key, what, "size " + sizeBytes + ", bytes " + bytes + ", new bytes " + newBytes
          + ", chunks per page " + pageChunks + " are inconsistent");
    }
    String source = Envelope.getString(b, key, what, "source");
    String kind = Envelope.getString(b, key, what, "kind");
    String group = Envelope.getString(b, key, what, "group");
    String changeId = Envelope.getString(b, key, what, "change id");
    String base = Envelope.getString(b, key, what, "base");
    if (source == null || kind == null) {
      throw Envelope.corrupt(key, what, "source or kind missing");
    }
    Envelope.need(b, 2, key, what, "tag count");
    int tagCount = b.getShort() & 0xffff;
    if (tagCount > MAX_TAGS) {
      throw Envelope.corrupt(key, what, tagCount + " tags, more than " + MAX_TAGS);
    }
    List<String> tags = new ArrayList<>(tagCount);
    for (int t = 0; t < tagCount; t++) {
      String tag = Envelope.getString(b, key, what, "tag");
      if (tag == null) {
        throw Envelope.corrupt(key, what, "null tag");
      }
      tags.add(tag);
    }
    Envelope.need(b, 4, key, what, "page count");
    long pages = b.getInt() & 0xffffffffL;
    long expected = pageCount(sizeBytes, chunkSize, pageChunks);
    if (pages != expected) {
      throw Envelope.corrupt(key, what, pages + " pages, a volume of " + sizeBytes + " bytes needs " + expected);
    }
    if (pages * ChunkId.BYTES != b.remaining()) {
      throw Envelope.corrupt(key, what, pages + " page ids need " + pages * ChunkId.BYTES + " bytes, found "
          + b.remaining());
    }
    ChunkId[] root = new ChunkId[(int) pages];
    for (int p = 0; p < pages; p++) {
      ChunkId id = ChunkId.read(b);
      root[p] = id.isZero() ? null : id;
    }
    PointInfo info = new PointInfo(pointId, Instant.ofEpochSecond(seconds, nanos), source, kind, group, changeId,
        sizeBytes, bytes, newBytes, base, tags);
    return new Manifest(info, chunkSize, pageChunks, bytesRead, root);
  }
}
