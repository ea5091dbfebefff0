package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * An {@code index/<32 hex>} object: where chunks are, grouped by pack. Written only after the packs
 * it names are durable. Body (sealed when encrypted), version 1, big-endian:
 *
 * <pre>
 * u32 pack count, then per pack:
 *   pack id (16), u32 n, then n entries of chunk id (32), offset u32, stored length u32,
 *   plain length u32 (44 bytes)
 * </pre>
 */
final class IndexObject {
  static final int VERSION = 1;
  static final int ENTRY_BYTES = 44;
  static final String PREFIX = "index/";

  /** The chunks of one pack that an index object names. */
  record PackEntries(byte[] packId, ChunkId[] ids, int[] offsets, int[] storedLengths, int[] plainLengths) {}

  /** Receives the entries of an index object as they are parsed. */
  interface Visitor {
    void entry(byte[] packId, ChunkId id, int offset, int storedLength, int plainLength);
  }

  private IndexObject() {}

  static byte[] write(List<PackEntries> packs, Aead aead, String objectKey) {
    long size = 4;
    for (PackEntries p : packs) {
      size += 20 + (long) p.ids.length * ENTRY_BYTES;
    }
    if (size > Integer.MAX_VALUE - 64) {
      throw new IllegalArgumentException("index object of " + size + " bytes is too large");
    }
    ByteBuffer b = ByteBuffer.allocate((int) size);
    b.putInt(packs.size());
    for (PackEntries p : packs) {
      b.put(p.packId).putInt(p.ids.length);
      for (int i = 0; i < p.ids.length; i++) {
        p.ids[i].write(b);
        b.putInt(p.offsets[i]).putInt(p.storedLengths[i]).putInt(p.plainLengths[i]);
      }
    }
    return Envelope.write(Envelope.INDEX, VERSION, b.flip(), aead, objectKey);
  }

  /** Parses the object and calls {@code visitor} for each entry; checks every count against the bytes left. */
  static void read(byte[] obj, Aead aead, String objectKey, Visitor visitor)
      throws CorruptObjectException, UnsupportedFormatException {
    parse(body(obj, aead, objectKey), objectKey, visitor);
  }

  /** Checks the object's frame and returns its authenticated, decrypted body (what {@link #parse} reads). */
  static ByteBuffer body(byte[] obj, Aead aead, String objectKey) throws CorruptObjectException,
      UnsupportedFormatException {
    return Envelope.read(obj, 0, obj.length, Envelope.INDEX, VERSION, aead, objectKey);
  }

  /** Calls {@code visitor} for each entry of a {@link #body}; checks every count against the bytes left. */
  static void parse(ByteBuffer body, String objectKey, Visitor visitor) throws CorruptObjectException {
    ByteBuffer b = body.duplicate().order(java.nio.ByteOrder.BIG_ENDIAN);
    String what = "index";
    Envelope.need(b, 4, objectKey, what, "pack count");
    long packs = b.getInt() & 0xffffffffL;
    if (packs * 20 > b.remaining()) {
      throw Envelope.corrupt(objectKey, what, "pack count " + packs + " exceeds the " + b.remaining() + " bytes left");
    }
    for (long p = 0; p < packs; p++) {
      Envelope.need(b, 20, objectKey, what, "pack " + p);
      byte[] packId = new byte[16];
      b.get(packId);
      long n = b.getInt() & 0xffffffffL;
      Envelope.need(b, n * ENTRY_BYTES, objectKey, what, "the " + n + " entries of pack " + Hex.of(packId));
      for (long i = 0; i < n; i++) {
        ChunkId id = ChunkId.read(b);
        int offset = b.getInt();
        int stored = b.getInt();
        int plain = b.getInt();
        if (offset < PackTrailer.HEADER_BYTES || stored <= 0 || plain <= 0 || plain > RepositoryOptions.MAX_CHUNK
            || stored > BlobCodec.maxStored(RepositoryOptions.MAX_CHUNK)) {
          throw Envelope.corrupt(objectKey, what, "entry of chunk " + id.hex() + " has offset " + offset + ", stored "
              + stored + ", plain " + plain);
        }
        visitor.entry(packId, id, offset, stored, plain);
      }
    }
    if (b.hasRemaining()) {
      throw Envelope.corrupt(objectKey, what, b.remaining() + " bytes after the last pack");
    }
  }
}
