package io.vstore.ovf.pkg;

import io.vstore.blockstore.BlockDevice;
import io.vstore.vdisk.CorruptImageException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;
import java.util.function.LongConsumer;

/**
 * Reads a streamOptimized VMDK front to back, as it arrives from a package, and writes its grains
 * into a device: no seek, no temporary file. The sparse header comes first; after its overhead
 * follow grain markers (LBA, compressed size, deflate data, padded to a sector) and metadata
 * markers (grain tables, directory, footer: skipped, since the grains carry their own LBAs) up to
 * the end-of-stream marker. Grains that follow each other on the disk are collected into batches
 * of up to 1 MiB, which one worker per core inflates and writes as one write ({@link GrainPipeline})
 * while this thread reads on.
 *
 * <pre>
 * sparse header, little-endian:  0 magic "KDMV"  4 version  8 flags  12 capacity (sectors)
 *   20 grainSize (sectors)  28 descriptorOffset  36 descriptorSize  44 numGTEsPerGT
 *   48 rgdOffset  56 gdOffset  64 overHead (sectors)  72 uncleanShutdown  73..76 newline checks
 *   77 compressAlgorithm (u16, 1 = deflate)
 * </pre>
 */
final class StreamOptimizedReader {
  static final int MAGIC = 0x564d444b; // "KDMV" little-endian
  static final int FLAG_COMPRESSED = 1 << 16;
  static final int FLAG_MARKERS = 1 << 17;
  /** Header flag: grain table entry 1 means "a grain of zeros". */
  static final int FLAG_ZERO_GRAIN = 1 << 2;
  /** Grain table entry of a zero grain (with {@link #FLAG_ZERO_GRAIN}). */
  private static final int ZERO_GTE = 1;
  /** Most grain table entries per table accepted (VMware writes 512). */
  private static final int MAX_GTES = 1 << 16;
  private static final int SECTOR = 512;
  private static final int MARKER_GT = 1;
  private static final int MARKER_GD = 2;
  private static final int MARKER_FOOTER = 3;
  private static final int MARKER_EOS = 0;
  /** Largest grain accepted: 1 MiB (VMware writes 64 KiB). */
  private static final long MAX_GRAIN_SECTORS = 2048;
  /** Largest capacity accepted: 64 TiB, what a VMDK can address (VMFS stops at 62 TiB). */
  private static final long MAX_CAPACITY_SECTORS = (64L << 40) / SECTOR;
  /** Largest metadata block skipped at once; a grain directory for 64 TiB takes 8 MiB. */
  private static final long MAX_METADATA_SECTORS = (64L << 20) / SECTOR;

  private final String name;
  private final long capacitySectors;
  private final int grainBytes;
  private final long grainSectors;
  private final long overheadSectors;
  private final boolean zeroGrains;
  private final int gtes;

  private StreamOptimizedReader(String name, long capacitySectors, long grainSectors, long overheadSectors,
      boolean zeroGrains, int gtes) {
    this.name = name;
    this.zeroGrains = zeroGrains;
    this.gtes = gtes;
    this.capacitySectors = capacitySectors;
    this.grainSectors = grainSectors;
    this.grainBytes = (int) (grainSectors * SECTOR);
    this.overheadSectors = overheadSectors;
  }

  /** Returns whether the first bytes {@code head} are a sparse header of a stream with markers. */
  static boolean isStreamOptimized(ByteBuffer head) {
    ByteBuffer h = head.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (h.remaining() < 80 || h.getInt(h.position()) != MAGIC) {
      return false;
    }
    int flags = h.getInt(h.position() + 8);
    return (flags & FLAG_MARKERS) != 0 && (flags & FLAG_COMPRESSED) != 0;
  }

  /** Parses and checks the sparse header in the first 512 bytes {@code head} of {@code name}. */
  static StreamOptimizedReader parse(String name, ByteBuffer head) throws CorruptImageException {
    ByteBuffer h = head.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int p = h.position();
    if (h.remaining() < SECTOR || h.getInt(p) != MAGIC) {
      throw new CorruptImageException("not a vmdk: " + name + ": no sparse header");
    }
    long capacity = h.getLong(p + 12);
    long grain = h.getLong(p + 20);
    long overhead = h.getLong(p + 64);
    int compress = Short.toUnsignedInt(h.getShort(p + 77));
    int flags = h.getInt(p + 8);
    int gtes = h.getInt(p + 44);
    String bad = "bad vmdk: " + name + ": ";
    if (capacity <= 0 || capacity > MAX_CAPACITY_SECTORS) {
      throw new CorruptImageException(bad + "capacity of " + capacity + " sectors out of range");
    }
    if (grain < 1 || grain > MAX_GRAIN_SECTORS || Long.bitCount(grain) != 1) {
      throw new CorruptImageException(bad + "grain size of " + grain + " sectors is not a power of two up to "
          + MAX_GRAIN_SECTORS);
    }
    if (overhead < 1 || overhead > MAX_METADATA_SECTORS) {
      throw new CorruptImageException(bad + "overhead of " + overhead + " sectors out of range");
    }
    if (compress != 1) {
      throw new CorruptImageException("unsupported vmdk: " + name + ": compression algorithm " + compress
          + " (only 1, deflate, is known)");
    }
    boolean zeroGrains = (flags & FLAG_ZERO_GRAIN) != 0;
    if (zeroGrains && (gtes < 1 || gtes > MAX_GTES)) {
      throw new CorruptImageException(bad + gtes + " grain table entries per table (1 to " + MAX_GTES + " accepted)");
    }
    return new StreamOptimizedReader(name, capacity, grain, overhead, zeroGrains, gtes);
  }

  /** Returns the disk's capacity in bytes. */
  long capacity() {
    return capacitySectors * SECTOR;
  }

  /**
   * Reads the stream {@code in} (positioned at its first byte) to its end-of-stream marker and writes
   * every non-zero grain into {@code target}, which must read zeros and hold the capacity.
   * Returns the bytes of data written.
   *
   * <p>With {@code overParent}, the disk is a delta and {@code target} holds its parent's content:
   * every grain is written whole, zeros included (a delta's grain replaces the parent's), and the
   * zero grains of the grain tables are written as zeros (they hide the parent's data). Grain tables
   * do not say which part of the disk they map; the directory, which comes after them, does: so the
   * zero entries of each table are kept as a bitmap (64 bytes per 32 MiB of disk at most) until the
   * directory arrives.
   */
  long copyTo(InputStream in, BlockDevice target, LongConsumer progress, boolean overParent) throws IOException {
    return copyTo(in, target, progress, overParent, true);
  }

  /**
   * Copies as {@link #copyTo(InputStream, BlockDevice, LongConsumer, boolean)} does, checking each
   * grain's Adler-32 only if {@code checksums} (the caller may verify every byte of {@code in} itself).
   */
  long copyTo(InputStream in, BlockDevice target, LongConsumer progress, boolean overParent, boolean checksums)
      throws IOException {
    if (target.size() < capacity()) {
      throw new IllegalArgumentException(target + " (" + target.size() + " bytes) is smaller than disk " + name + " ("
          + capacity() + " bytes)");
    }
    Input input = new Input(in, name);
    input.skip(overheadSectors * SECTOR);
    int maxCompressed = grainBytes + grainBytes / 8 + 1024;
    long grains = (capacitySectors + grainSectors - 1) / grainSectors;
    if (grains > Integer.MAX_VALUE) {
      throw new CorruptImageException("unsupported vmdk: " + name + ": " + grains + " grains");
    }
    BitSet seen = new BitSet((int) grains);
    ZeroGrainTables zeroTables = new ZeroGrainTables(name, gtes, grains, grainBytes, capacity());
    boolean footer = false;
    byte[] marker = new byte[SECTOR];
    ByteBuffer m = ByteBuffer.wrap(marker).order(ByteOrder.LITTLE_ENDIAN);
    int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
    try (GrainPipeline pipeline = new GrainPipeline(name, grainBytes, maxCompressed, capacity(), target, overParent,
        checksums, workers)) {
      GrainBatch batch = pipeline.take();
      while (true) {
        long at = input.position();
        if (!input.readFullyOrEof(marker, 12)) {
          if (footer) {
            break; // some writers end with the footer and no end-of-stream marker
          }
          throw new CorruptImageException("bad vmdk: " + name + ": truncated stream: ends at byte " + at
              + " without an end-of-stream marker");
        }
        long value = m.getLong(0);
        int size = m.getInt(8);
        if (size != 0) {
          if (size < 0 || size > maxCompressed) {
            throw new CorruptImageException("bad vmdk: " + name + ": grain marker at byte " + at + " claims "
                + Integer.toUnsignedString(size) + " compressed bytes for a " + grainBytes + "-byte grain");
          }
          if (value < 0 || value >= capacitySectors || value % grainSectors != 0) {
            throw new CorruptImageException("bad vmdk: " + name + ": grain marker at byte " + at + " has LBA " + value
                + " (capacity " + capacitySectors + " sectors, grain " + grainSectors + ")");
          }
          int index = (int) (value / grainSectors);
          if (seen.get(index)) {
            throw new CorruptImageException("bad vmdk: " + name + ": grain at LBA " + value + " appears twice");
          }
          seen.set(index);
          if (!batch.accepts(value)) {
            pipeline.submit(batch);
            batch = pipeline.take();
          }
          input.readFully(batch.compressed(), batch.add(value, size, at), size);
          input.skip(pad(12 + size));
          progress.accept(Math.min(capacity(), (value + grainSectors) * SECTOR));
          continue;
        }
        input.readFully(marker, 12, SECTOR - 12);
        int type = m.getInt(12);
        if (type == MARKER_EOS) {
          break;
        }
        if (type != MARKER_GT && type != MARKER_GD && type != MARKER_FOOTER) {
          throw new CorruptImageException("bad vmdk: " + name + ": unknown marker type " + type + " at byte " + at);
        }
        if (value < 0 || value > MAX_METADATA_SECTORS) {
          throw new CorruptImageException("bad vmdk: " + name + ": metadata marker at byte " + at + " claims " + value
              + " sectors");
        }
        if (overParent && zeroGrains && type == MARKER_GT) {
          zeroTables.read(input, at / SECTOR + 1, value);
        } else if (overParent && zeroGrains && type == MARKER_GD) {
          // The zeros come last: a zero grain's entry is what counts, so every grain is written first.
          pipeline.submit(batch);
          pipeline.drain();
          batch = pipeline.take();
          zeroTables.applyDirectory(input, value, target);
        } else {
          input.skip(value * SECTOR);
        }
        footer |= type == MARKER_FOOTER;
      }
      pipeline.submit(batch);
      return pipeline.drain();
    }
  }

  private static long pad(long n) {
    return (SECTOR - n % SECTOR) % SECTOR;
  }

  /** The stream with its position, reads that must be complete, and skips that read (so bytes stay digested). */
  static final class Input {
    private final InputStream in;
    private final String name;
    private final byte[] skipBuf = new byte[64 * 1024];
    private long position;

    Input(InputStream in, String name) {
      this.in = in;
      this.name = name;
    }

    long position() {
      return position;
    }

    /** Reads {@code n} bytes into {@code b}; returns false at a clean end (no byte read). */
    boolean readFullyOrEof(byte[] b, int n) throws IOException {
      int got = in.readNBytes(b, 0, n);
      position += got;
      if (got == 0) {
        return false;
      }
      if (got < n) {
        throw new CorruptImageException("bad vmdk: " + name + ": truncated stream at byte " + position);
      }
      return true;
    }

    void readFully(byte[] b, int off, int n) throws IOException {
      int got = in.readNBytes(b, off, n);
      position += got;
      if (got < n) {
        throw new CorruptImageException("bad vmdk: " + name + ": truncated stream at byte " + position);
      }
    }

    void readFully(byte[] b, int n) throws IOException {
      readFully(b, 0, n);
    }

    void skip(long n) throws IOException {
      while (n > 0) {
        int got = in.read(skipBuf, 0, (int) Math.min(n, skipBuf.length));
        if (got < 0) {
          throw new CorruptImageException("bad vmdk: " + name + ": truncated stream at byte " + position,
              new EOFException());
        }
        position += got;
        n -= got;
      }
    }
  }
}
