package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;

/**
 * A {@code pages/<2 hex>/<64 hex>} object: the chunk ids of one run of a point's chunks. Named by
 * the HMAC of its body, so equal pages of different points are stored once. Body (sealed when
 * encrypted), version 1: u32 count, then count chunk ids of 32 bytes, all zeros for a hole.
 */
final class Page {
  static final int VERSION = 1;
  static final String PREFIX = "pages/";

  private Page() {}

  /** Returns the body of a page holding {@code count} ids from {@code ids} (32 bytes each). */
  static ByteBuffer body(byte[] ids, int count) {
    ByteBuffer b = ByteBuffer.allocate(4 + count * ChunkId.BYTES);
    b.putInt(count).put(ids, 0, count * ChunkId.BYTES);
    return b.flip();
  }

  static byte[] write(ByteBuffer body, Aead aead, String objectKey) {
    return Envelope.write(Envelope.PAGE, VERSION, body, aead, objectKey);
  }

  /** Parses a page and returns its ids, 32 bytes each; checks it holds {@code expectedCount} of them. */
  static byte[] read(byte[] obj, Aead aead, String objectKey, int expectedCount)
      throws CorruptObjectException, UnsupportedFormatException {
    ByteBuffer b = Envelope.read(obj, 0, obj.length, Envelope.PAGE, VERSION, aead, objectKey);
    Envelope.need(b, 4, objectKey, "page", "count");
    int count = b.getInt();
    if (count != expectedCount) {
      throw Envelope.corrupt(objectKey, "page", "holds " + count + " chunk ids, the point expects " + expectedCount);
    }
    if ((long) count * ChunkId.BYTES != b.remaining()) {
      throw Envelope.corrupt(objectKey, "page", count + " ids need " + (long) count * ChunkId.BYTES + " bytes, found "
          + b.remaining());
    }
    byte[] ids = new byte[count * ChunkId.BYTES];
    b.get(ids);
    return ids;
  }
}
