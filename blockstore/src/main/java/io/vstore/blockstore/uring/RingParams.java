package io.vstore.blockstore.uring;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;

/**
 * What io_uring_setup(2) reports back in {@code struct io_uring_params} (120 bytes, native byte
 * order): ring sizes, the flags and features in force, and where each ring field lies in the
 * mapped rings.
 *
 * <pre>
 *   0 u32 sq_entries     4 u32 cq_entries    8 u32 flags     12 u32 sq_thread_cpu
 *  16 u32 sq_thread_idle 20 u32 features    24 u32 wq_fd    28 u32 resv[3]
 *  40 io_sqring_offsets: head tail ring_mask ring_entries flags dropped array resv1 (u32), u64
 *  80 io_cqring_offsets: head tail ring_mask ring_entries overflow cqes flags resv1 (u32), u64
 * </pre>
 */
record RingParams(int sqEntries, int cqEntries, int flags, int features, int sqHead, int sqTail,
    int sqRingMask, int sqRingEntries, int sqFlags, int sqArray, int cqHead, int cqTail,
    int cqRingMask, int cqRingEntries, int cqOverflow, int cqCqes) {
  /** Size of struct io_uring_params. */
  static final int SIZE = 120;
  private static final int FLAGS = 8;
  private static final int FEATURES = 20;
  private static final int SQ_OFF = 40;
  private static final int CQ_OFF = 80;

  /** Writes a request for a ring with setup {@code flags} into the zeroed {@code params}. */
  static void writeRequest(MemorySegment params, int flags) {
    params.asSlice(0, SIZE).fill((byte) 0);
    params.set(JAVA_INT, FLAGS, flags);
  }

  /** Reads what the kernel filled in. */
  static RingParams read(MemorySegment p) {
    return new RingParams(p.get(JAVA_INT, 0), p.get(JAVA_INT, 4), p.get(JAVA_INT, FLAGS),
        p.get(JAVA_INT, FEATURES),
        p.get(JAVA_INT, SQ_OFF), p.get(JAVA_INT, SQ_OFF + 4), p.get(JAVA_INT, SQ_OFF + 8),
        p.get(JAVA_INT, SQ_OFF + 12), p.get(JAVA_INT, SQ_OFF + 16), p.get(JAVA_INT, SQ_OFF + 24),
        p.get(JAVA_INT, CQ_OFF), p.get(JAVA_INT, CQ_OFF + 4), p.get(JAVA_INT, CQ_OFF + 8),
        p.get(JAVA_INT, CQ_OFF + 12), p.get(JAVA_INT, CQ_OFF + 16), p.get(JAVA_INT, CQ_OFF + 20));
  }

  /** Returns the bytes to map for the SQ ring: its head fields and, unless disabled, the index array. */
  long sqRingBytes(boolean hasArray) {
    long fields = Math.max(Math.max(sqHead, sqTail), Math.max(Math.max(sqRingMask, sqRingEntries),
        sqFlags)) + Integer.BYTES;
    return hasArray ? Math.max(fields, (long) sqArray + (long) sqEntries * Integer.BYTES) : fields;
  }

  /** Returns the bytes to map for the CQ ring: up to the end of its CQE array. */
  long cqRingBytes(int cqeSize) {
    return (long) cqCqes + (long) cqEntries * cqeSize;
  }
}
