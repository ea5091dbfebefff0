package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;

/**
 * The end of a pack: what each blob is, so that a pack can be re-indexed and verified from itself.
 * A pack ({@code data/<2 hex>/<32 hex>}) is:
 *
 * <pre>
 *  0  4  magic "VSPK"
 *  4  1  version (1)
 *  5  1  flags: bit 0 = encrypted
 *  6  2  reserved, 0
 *  8  .  blobs, back to back (see BlobCodec)
 *  .  t  trailer: an Envelope of type 6 (sealed when encrypted) whose body is
 *          u32 count, then per blob: chunk id (32), offset u32, stored length u32, plain length u32,
 *          CRC32C of the stored blob u32 (48 bytes)
 *  .  4  t, the trailer's length
 * </pre>
 */
record PackTrailer(ChunkId[] ids, int[] offsets, int[] storedLengths, int[] plainLengths, int[] crcs) {
  static final int PACK_MAGIC = 0x5653504b;
  static final int PACK_VERSION = 1;
  static final int HEADER_BYTES = 8;
  static final int ENTRY_BYTES = 48;
  static final int VERSION = 1;

  int count() {
    return ids.length;
  }

  static void writeHeader(byte[] buf, boolean encrypted) {
    ByteBuffer.wrap(buf).putInt(PACK_MAGIC).put((byte) PACK_VERSION).put((byte) (encrypted ? 1 : 0)).putShort((short) 0);
  }

  static void checkHeader(byte[] pack, String key, boolean encrypted) throws CorruptObjectException {
    if (pack.length < HEADER_BYTES + 4) {
      throw Envelope.corrupt(key, "pack", "object of " + pack.length + " bytes is too short for a pack");
    }
    ByteBuffer b = ByteBuffer.wrap(pack);
    int magic = b.getInt();
    if (magic != PACK_MAGIC) {
      throw Envelope.corrupt(key, "pack", String.format("magic 0x%08x, expected 0x%08x (\"VSPK\")", magic, PACK_MAGIC));
    }
    int version = b.get() & 0xff;
    if (version != PACK_VERSION) {
      throw Envelope.corrupt(key, "pack", "version " + version + ", expected " + PACK_VERSION);
    }
    int flags = b.get() & 0xff;
    if (((flags & 1) != 0) != encrypted) {
      throw Envelope.corrupt(key, "pack", "encrypted flag " + (flags & 1) + " does not match the repository");
    }
  }

  /** Returns the framed trailer (without the length suffix). */
  byte[] write(Aead aead, String packKey) {
    ByteBuffer b = ByteBuffer.allocate(4 + ids.length * ENTRY_BYTES);
    b.putInt(ids.length);
    for (int i = 0; i < ids.length; i++) {
      ids[i].write(b);
      b.putInt(offsets[i]).putInt(storedLengths[i]).putInt(plainLengths[i]).putInt(crcs[i]);
    }
    return Envelope.write(Envelope.TRAILER, VERSION, b.flip(), aead, packKey);
  }

  /**
   * Parses a trailer and checks each entry lies within {@code dataEnd} (the offset where the trailer
   * starts) and after the pack header.
   */
  static PackTrailer read(byte[] obj, int offset, int length, long dataEnd, Aead aead, String packKey)
      throws CorruptObjectException, UnsupportedFormatException {
    ByteBuffer b = Envelope.read(obj, offset, length, Envelope.TRAILER, VERSION, aead, packKey);
    String what = "pack trailer";
    Envelope.need(b, 4, packKey, what, "count");
    long count = b.getInt() & 0xffffffffL;
    if (count * ENTRY_BYTES != b.remaining()) {
      throw Envelope.corrupt(packKey, what, "count " + count + " needs " + count * ENTRY_BYTES + " bytes, found "
          + b.remaining());
    }
    int n = (int) count;
    ChunkId[] ids = new ChunkId[n];
    int[] offsets = new int[n];
    int[] stored = new int[n];
    int[] plain = new int[n];
    int[] crcs = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = ChunkId.read(b);
      offsets[i] = b.getInt();
      stored[i] = b.getInt();
      plain[i] = b.getInt();
      crcs[i] = b.getInt();
      long off = offsets[i] & 0xffffffffL;
      long len = stored[i] & 0xffffffffL;
      if (off < HEADER_BYTES || len == 0 || off + len > dataEnd) {
        throw Envelope.corrupt(packKey, what, "blob " + i + " at " + off + "+" + len + " lies outside the data ("
            + HEADER_BYTES + ".." + dataEnd + ")");
      }
      if (plain[i] <= 0 || plain[i] > RepositoryOptions.MAX_CHUNK) {
        throw Envelope.corrupt(packKey, what, "blob " + i + " plain length " + plain[i] + " out of range");
      }
    }
    return new PackTrailer(ids, offsets, stored, plain, crcs);
  }
}
