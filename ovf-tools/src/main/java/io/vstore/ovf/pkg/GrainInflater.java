package io.vstore.ovf.pkg;

import io.vstore.blockstore.BlockDevice;
import io.vstore.vdisk.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.Adler32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * One worker's means to turn a {@link GrainBatch} into writes: an inflater and an output buffer
 * reused for every batch, the grains inflated side by side so that a run of them is one write.
 * Not thread-safe: each worker has its own.
 *
 * <p>Grains are inflated by libdeflate ({@link NativeInflater}) when the system has it, else by
 * the JDK's zlib ({@link Inflater}). A grain libdeflate refuses is inflated again by zlib, which
 * either accepts it too or fails with the message the zlib-only path gives, so that what is
 * accepted and every error message are the same either way.
 *
 * <p>A grain is a zlib stream (RFC 1950: two header bytes, deflate data, the Adler-32 of the
 * data, big-endian). It is inflated raw and its checksum computed with {@link Adler32} rather than
 * by zlib's inflater: the JDK's Adler32 uses the CPU's vector instructions, zlib's bundled
 * checksum does not, and it took as long as the inflation itself (measured over the benchmark
 * image's 32,768 grains: 1.32 s of CPU with zlib checking, 0.74 s this way, 0.59 s unchecked).
 * Under C1 (how the {@code vstore} launcher runs {@code ovf} commands) the JDK's Adler32 is zlib's
 * scalar code again, 9% of an import's CPU; so when the package's manifest digests every byte of
 * the disk as it is read ({@code checksums} false), a grain's checksum is not computed: the
 * manifest already tells that the bytes are the packager's, and a mismatch fails the import.
 */
final class GrainInflater {
  private static final int SECTOR = 512;
  private static final byte[] ZERO = new byte[GrainBatch.MAX_BYTES];

  private final String name;
  private final int grainBytes;
  private final long capacity;
  private final boolean checksums;
  private final Inflater inflater = new Inflater(true);
  private final NativeInflater libdeflate; // null: zlib only
  private final Adler32 adler = new Adler32();
  private final byte[] grains;
  private final byte[] oneMore = new byte[1];

  /**
   * Creates an inflater for disk {@code name} of {@code capacity} bytes and grains of
   * {@code grainBytes}, checking each grain's Adler-32 if {@code checksums}; grains are inflated by
   * {@code libdeflate} when it is not null, else by zlib. The inflater takes {@code libdeflate} over.
   */
  GrainInflater(String name, int grainBytes, long capacity, boolean checksums, NativeInflater libdeflate) {
    this.name = name;
    this.libdeflate = libdeflate;
    this.checksums = checksums;
    this.grainBytes = grainBytes;
    this.capacity = capacity;
    this.grains = new byte[GrainBatch.maxGrains(grainBytes) * grainBytes];
  }

  /**
   * Inflates every grain of {@code batch} and writes them into {@code target}, runs of adjacent
   * grains as one write; returns the bytes written. Without {@code overParent}, grains of zeros are
   * not written (the target reads zeros already); with it, every grain is (it replaces a parent's).
   */
  long write(GrainBatch batch, BlockDevice target, boolean overParent) throws IOException {
    long written = 0;
    int runStart = 0; // first grain of the run not written yet
    int runBytes = 0;
    for (int i = 0; i < batch.count(); i++) {
      int at = i * grainBytes;
      int n = inflate(batch, i, at);
      long room = capacity - batch.lba(i) * SECTOR;
      int len = (int) Math.min(n, room);
      boolean zero = !overParent && Arrays.mismatch(grains, at, at + len, ZERO, 0, len) < 0;
      if (zero) {
        written += flush(batch, runStart, runBytes, target);
        runStart = i + 1;
        runBytes = 0;
        continue;
      }
      runBytes += len;
      if (len < grainBytes) {
        // A short grain (the disk's last, or one that inflates to less): what follows is not adjacent.
        written += flush(batch, runStart, runBytes, target);
        runStart = i + 1;
        runBytes = 0;
      }
    }
    return written + flush(batch, runStart, runBytes, target);
  }

  private long flush(GrainBatch batch, int first, int bytes, BlockDevice target) throws IOException {
    if (bytes > 0) {
      target.write(batch.lba(first) * SECTOR, ByteBuffer.wrap(grains, first * grainBytes, bytes));
    }
    return bytes;
  }

  /** Inflates grain {@code i} of {@code batch} to {@code at} in the output buffer; returns its length. */
  private int inflate(GrainBatch batch, int i, int at) throws CorruptImageException {
    byte[] data = batch.compressed();
    int start = batch.start(i);
    int length = batch.length(i);
    if (length < 6) {
      throw new CorruptImageException(grain(batch, i) + " has " + length + " compressed bytes, too few for a zlib stream");
    }
    int cmf = data[start] & 0xff;
    int flg = data[start + 1] & 0xff;
    if ((cmf & 0x0f) != 8 || (cmf >>> 4) > 7 || ((cmf << 8) | flg) % 31 != 0 || (flg & 0x20) != 0) {
      throw new CorruptImageException(grain(batch, i) + " is not a zlib stream: header " + String.format("0x%02x%02x", cmf, flg));
    }
    if (libdeflate != null) {
      int n = checksums ? libdeflate.inflateZlib(data, start, length, grains, at, grainBytes) : inflateUnchecked(data, start,
          length, at);
      if (n >= 0) {
        return n;
      }
      // Refused: zlib inflates it again, for its reason (or accepts it, if libdeflate is the stricter).
    }
    inflater.reset();
    inflater.setInput(data, start + 2, length - 2);
    int n;
    try {
      n = inflater.inflate(grains, at, grainBytes);
      // A grain that fills the buffer may still hold its end-of-stream code: one more byte tells.
      if (!inflater.finished() && inflater.inflate(oneMore, 0, 1) > 0) {
        throw new CorruptImageException(grain(batch, i) + " inflates to more than " + grainBytes + " bytes");
      }
    } catch (DataFormatException e) {
      throw new CorruptImageException(grain(batch, i) + " does not inflate: " + e.getMessage(), e);
    }
    if (!inflater.finished()) {
      throw new CorruptImageException(grain(batch, i) + " is truncated: its deflate data ends after " + length + " bytes");
    }
    int trailer = start + length - inflater.getRemaining();
    if (inflater.getRemaining() < 4) {
      throw new CorruptImageException(grain(batch, i) + " lacks the Adler-32 checksum after its deflate data");
    }
    if (!checksums) {
      return n;
    }
    int expected = ((data[trailer] & 0xff) << 24) | ((data[trailer + 1] & 0xff) << 16) | ((data[trailer + 2] & 0xff) << 8)
        | (data[trailer + 3] & 0xff);
    adler.reset();
    adler.update(grains, at, n);
    int actual = (int) adler.getValue();
    if (actual != expected) {
      throw new CorruptImageException(grain(batch, i) + ": Adler-32 " + String.format("%08x", expected) + " expected, data gives "
          + String.format("%08x", actual));
    }
    return n;
  }

  /**
   * Inflates grain data at {@code start} by libdeflate without its checksum as the zlib path does
   * (which needs the four bytes of it after the deflate data); returns its length or -1.
   */
  private int inflateUnchecked(byte[] data, int start, int length, int at) {
    int n = libdeflate.inflateRaw(data, start + 2, length - 2, grains, at, grainBytes);
    return n >= 0 && length - 2 - libdeflate.consumed() >= 4 ? n : -1;
  }

  /** Returns the start of an error message about grain {@code i} of {@code batch} (built only on failure). */
  private String grain(GrainBatch batch, int i) {
    return "bad vmdk: " + name + ": grain at LBA " + batch.lba(i) + " (marker at byte " + batch.marker(i) + ")";
  }

  /** Releases the inflaters' native memory. */
  void close() {
    inflater.end();
    if (libdeflate != null) {
      libdeflate.close();
    }
  }
}
