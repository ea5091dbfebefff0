package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import java.nio.ByteBuffer;
import java.util.Arrays;

/** A pack being filled by a {@link PackSink}: its bytes so far and the trailer entries. Guarded by the sink. */
final class PackBuilder {
  final byte[] packId;
  final int packNumber;
  final String key;
  private byte[] buf;
  private int pos = PackTrailer.HEADER_BYTES;
  private ChunkId[] ids = new ChunkId[64];
  private int[] offsets = new int[64];
  private int[] stored = new int[64];
  private int[] plain = new int[64];
  private int[] crcs = new int[64];
  private int count;

  PackBuilder(byte[] packId, int packNumber, int capacity) {
    this.packId = packId;
    this.packNumber = packNumber;
    this.key = Hex.packKey(packId);
    this.buf = new byte[capacity];
  }

  /** Returns the bytes of blobs so far (with the header). */
  int dataBytes() {
    return pos;
  }

  int count() {
    return count;
  }

  ChunkId id(int i) {
    return ids[i];
  }

  /** Appends a blob and returns its offset in the pack. */
  int append(byte[] blob, int length, ChunkId id, int plainLength, int crc) {
    if (pos + length > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + length));
    }
    if (count == ids.length) {
      int n = count * 2;
      ids = Arrays.copyOf(ids, n);
      offsets = Arrays.copyOf(offsets, n);
      stored = Arrays.copyOf(stored, n);
      plain = Arrays.copyOf(plain, n);
      crcs = Arrays.copyOf(crcs, n);
    }
    int at = pos;
    System.arraycopy(blob, 0, buf, pos, length);
    pos += length;
    ids[count] = id;
    offsets[count] = at;
    stored[count] = length;
    plain[count] = plainLength;
    crcs[count] = crc;
    count++;
    return at;
  }

  /** Completes the pack (header, trailer, trailer length) and returns its bytes. */
  ByteBuffer finish(Aead aead) {
    PackTrailer.writeHeader(buf, aead != null);
    byte[] trailer = new PackTrailer(Arrays.copyOf(ids, count), Arrays.copyOf(offsets, count),
        Arrays.copyOf(stored, count), Arrays.copyOf(plain, count), Arrays.copyOf(crcs, count)).write(aead, key);
    int end = pos + trailer.length + 4;
    if (end > buf.length) {
      buf = Arrays.copyOf(buf, end);
    }
    System.arraycopy(trailer, 0, buf, pos, trailer.length);
    ByteBuffer.wrap(buf, pos + trailer.length, 4).putInt(trailer.length);
    return ByteBuffer.wrap(buf, 0, end);
  }

  IndexObject.PackEntries entries() {
    return new IndexObject.PackEntries(packId, Arrays.copyOf(ids, count), Arrays.copyOf(offsets, count),
        Arrays.copyOf(stored, count), Arrays.copyOf(plain, count));
  }
}
