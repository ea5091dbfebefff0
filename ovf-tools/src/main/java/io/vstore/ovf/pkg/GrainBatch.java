package io.vstore.ovf.pkg;

/**
 * Compressed grains of a streamOptimized VMDK that follow each other on the disk, as the reading
 * thread collected them for one worker: inflated side by side, they become one write of up to
 * {@link #MAX_BYTES} instead of one per grain. A batch stays within one {@code MAX_BYTES}-aligned
 * window of the disk, so that its write lines up with the volume's 1 MiB records.
 *
 * <p>Batches go round between the reading thread, which fills them, and the workers, which empty
 * them ({@link GrainPipeline}); each is used by one thread at a time.
 */
final class GrainBatch {
  /** Most bytes of disk one batch covers (1 MiB, or one grain when grains are larger). */
  static final int MAX_BYTES = 1 << 20;
  private static final int SECTOR = 512;

  private final long grainSectors;
  private final int grainBytes;
  private final byte[] compressed;
  private final int[] starts;
  private final int[] lengths;
  private final long[] markers;
  private int count;
  private int used;
  private long firstLba;

  /**
   * Creates an empty batch for grains of {@code grainBytes} whose compressed form is at most
   * {@code maxCompressed} bytes each.
   */
  GrainBatch(int grainBytes, int maxCompressed) {
    this.grainBytes = grainBytes;
    this.grainSectors = grainBytes / SECTOR;
    int grains = maxGrains(grainBytes);
    this.compressed = new byte[Math.multiplyExact(grains, maxCompressed)];
    this.starts = new int[grains];
    this.lengths = new int[grains];
    this.markers = new long[grains];
  }

  /** Returns how many grains of {@code grainBytes} one batch holds. */
  static int maxGrains(int grainBytes) {
    return Math.max(1, MAX_BYTES / grainBytes);
  }

  /** Returns whether the grain at {@code lba} (a grain boundary) can join this batch. */
  boolean accepts(long lba) {
    if (count == 0) {
      return true;
    }
    long next = firstLba + count * grainSectors;
    long windowSectors = Math.max(MAX_BYTES, grainBytes) / SECTOR;
    return count < starts.length && lba == next && lba / windowSectors == firstLba / windowSectors;
  }

  /**
   * Adds a grain of {@code length} compressed bytes at {@code lba}, whose marker is at byte
   * {@code marker} of the stream, and returns where its compressed bytes go in {@link #compressed()}.
   */
  int add(long lba, int length, long marker) {
    assert accepts(lba) : lba;
    if (count == 0) {
      firstLba = lba;
    }
    starts[count] = used;
    lengths[count] = length;
    markers[count] = marker;
    count++;
    int at = used;
    used += length;
    return at;
  }

  /** Empties the batch for reuse. */
  void clear() {
    count = 0;
    used = 0;
  }

  /** Returns the compressed bytes of every grain, one after the other. */
  byte[] compressed() {
    return compressed;
  }

  /** Returns the number of grains held. */
  int count() {
    return count;
  }

  /** Returns the LBA (in sectors) of the first grain. */
  long firstLba() {
    return firstLba;
  }

  /** Returns the LBA of grain {@code i}. */
  long lba(int i) {
    return firstLba + i * grainSectors;
  }

  /** Returns where grain {@code i}'s compressed bytes start in {@link #compressed()}. */
  int start(int i) {
    return starts[i];
  }

  /** Returns the compressed length of grain {@code i}. */
  int length(int i) {
    return lengths[i];
  }

  /** Returns the stream offset of grain {@code i}'s marker, for error messages. */
  long marker(int i) {
    return markers[i];
  }
}
