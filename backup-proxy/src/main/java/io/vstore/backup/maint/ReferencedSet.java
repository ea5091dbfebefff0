package io.vstore.backup.maint;

/**
 * The set of chunk and page ids that points reference, as gc builds it while streaming every
 * point's pages: a Bloom filter, 16 bits per expected id with 11 probes (about one false "yes" in
 * 2,000). A false "yes" only keeps some garbage one gc longer; there is never a false "no", which
 * is the direction that would delete live data. 16 M chunks (1 TiB of distinct 64 KiB chunks) take
 * 32 MiB, against the repository's index at 64-128 bytes per chunk.
 *
 * <p>Ids are HMAC-SHA256 outputs, uniformly random, so their own bits serve as the hashes (double
 * hashing on two 64-bit words).
 */
final class ReferencedSet {
  private static final int PROBES = 11;
  private static final int BITS_PER_ID = 16;

  private final long[] words;
  private final long bits;
  private long added;

  /** Returns a set sized for {@code expected} distinct ids (at least 1,024). */
  ReferencedSet(long expected) {
    long n = Math.max(1024, expected);
    long wanted = n * BITS_PER_ID;
    if (wanted / 64 > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("referenced set for " + expected + " ids is too large");
    }
    this.words = new long[(int) ((wanted + 63) / 64)];
    this.bits = (long) words.length * 64;
  }

  /** Adds a 32-byte id. */
  void add(byte[] id) {
    add(id, 0);
  }

  /** Adds the 32-byte id at {@code offset} of {@code ids}. */
  void add(byte[] ids, int offset) {
    long h1 = word(ids, offset);
    long h2 = word(ids, offset + 8) | 1;
    for (int i = 0; i < PROBES; i++) {
      long bit = Long.remainderUnsigned(h1 + i * h2, bits);
      words[(int) (bit >>> 6)] |= 1L << bit;
    }
    added++;
  }

  /** Returns false if the id was certainly never added; true if it probably was. */
  boolean mightContain(byte[] id) {
    long h1 = word(id, 0);
    long h2 = word(id, 8) | 1;
    for (int i = 0; i < PROBES; i++) {
      long bit = Long.remainderUnsigned(h1 + i * h2, bits);
      if ((words[(int) (bit >>> 6)] & (1L << bit)) == 0) {
        return false;
      }
    }
    return true;
  }

  /** Returns how many ids were added (with repeats). */
  long added() {
    return added;
  }

  /** Returns the bytes the filter takes. */
  long memoryBytes() {
    return (long) words.length * 8;
  }

  private static long word(byte[] b, int at) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (b[at + i] & 0xff);
    }
    return v;
  }
}
