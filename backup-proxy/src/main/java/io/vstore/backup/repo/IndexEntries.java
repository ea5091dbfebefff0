package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The entries of one index object, parsed and checked once, as flat primitive arrays (44 bytes an
 * entry, no object per chunk): what {@link IndexCache} keeps between jobs and {@link ChunkIndex}
 * adds in one call. Immutable once built.
 */
final class IndexEntries {
  private final byte[][] packIds;
  /** Entries [packStarts[p], packStarts[p + 1]) are in pack {@code packIds[p]}. */
  private final int[] packStarts;
  private final long[] idWords;
  private final int[] offsets;
  private final int[] storedLengths;
  private final int[] plainLengths;

  private IndexEntries(byte[][] packIds, int[] packStarts, long[] idWords, int[] offsets, int[] storedLengths,
      int[] plainLengths) {
    this.packIds = packIds;
    this.packStarts = packStarts;
    this.idWords = idWords;
    this.offsets = offsets;
    this.storedLengths = storedLengths;
    this.plainLengths = plainLengths;
  }

  /** Authenticates and parses index object {@code obj} (stored as {@code objectKey}). */
  static IndexEntries read(byte[] obj, Aead aead, String objectKey)
      throws CorruptObjectException, UnsupportedFormatException {
    ByteBuffer body = IndexObject.body(obj, aead, objectKey);
    // The body bounds the entry count, so nothing is allocated beyond what the object's size allows.
    int max = Math.max(0, (body.remaining() - 4) / IndexObject.ENTRY_BYTES);
    long[] words = new long[max * 4];
    int[] offsets = new int[max];
    int[] stored = new int[max];
    int[] plain = new int[max];
    List<byte[]> packs = new ArrayList<>();
    List<Integer> starts = new ArrayList<>();
    int[] n = {0};
    IndexObject.parse(body, objectKey, (packId, id, offset, storedLength, plainLength) -> {
      // The parser hands every entry of a pack the same array: a new array is a new pack.
      if (packs.isEmpty() || packs.getLast() != packId) {
        packs.add(packId);
        starts.add(n[0]);
      }
      int i = n[0]++;
      for (int w = 0; w < 4; w++) {
        words[i * 4 + w] = id.word(w);
      }
      offsets[i] = offset;
      stored[i] = storedLength;
      plain[i] = plainLength;
    });
    int[] packStarts = new int[packs.size() + 1];
    for (int p = 0; p < packs.size(); p++) {
      packStarts[p] = starts.get(p);
    }
    packStarts[packs.size()] = n[0];
    return new IndexEntries(packs.toArray(byte[][]::new), packStarts, words, offsets, stored, plain);
  }

  /** Returns the entries of an index object this process wrote from {@code packs}, without reading it back. */
  static IndexEntries of(List<IndexObject.PackEntries> packs) {
    int total = 0;
    for (IndexObject.PackEntries p : packs) {
      total += p.ids().length;
    }
    long[] words = new long[total * 4];
    int[] offsets = new int[total];
    int[] stored = new int[total];
    int[] plain = new int[total];
    byte[][] packIds = new byte[packs.size()][];
    int[] packStarts = new int[packs.size() + 1];
    int i = 0;
    for (int p = 0; p < packs.size(); p++) {
      IndexObject.PackEntries e = packs.get(p);
      packIds[p] = e.packId();
      packStarts[p] = i;
      for (int k = 0; k < e.ids().length; k++, i++) {
        for (int w = 0; w < 4; w++) {
          words[i * 4 + w] = e.ids()[k].word(w);
        }
        offsets[i] = e.offsets()[k];
        stored[i] = e.storedLengths()[k];
        plain[i] = e.plainLengths()[k];
      }
    }
    packStarts[packs.size()] = i;
    return new IndexEntries(packIds, packStarts, words, offsets, stored, plain);
  }

  /** Returns the number of packs the object names. */
  int packCount() {
    return packIds.length;
  }

  /** Returns the id of pack {@code p} (do not modify it). */
  byte[] packId(int p) {
    return packIds[p];
  }

  /** Returns the first entry of pack {@code p}; entries of pack p end where those of p + 1 start. */
  int packStart(int p) {
    return packStarts[p];
  }

  /** Returns the number of entries. */
  int size() {
    return packStarts[packIds.length];
  }

  /** Returns word {@code w} (0-3, big-endian) of entry {@code i}'s chunk id. */
  long idWord(int i, int w) {
    return idWords[i * 4 + w];
  }

  /** Returns entry {@code i}'s offset in its pack. */
  int offset(int i) {
    return offsets[i];
  }

  /** Returns entry {@code i}'s stored (compressed, sealed) length. */
  int storedLength(int i) {
    return storedLengths[i];
  }

  /** Returns entry {@code i}'s plaintext length. */
  int plainLength(int i) {
    return plainLengths[i];
  }

  /** Returns about the bytes it holds on the heap. */
  long memoryBytes() {
    return 64L + packIds.length * 40L + packStarts.length * 4L + idWords.length * 8L + offsets.length * 12L;
  }
}
