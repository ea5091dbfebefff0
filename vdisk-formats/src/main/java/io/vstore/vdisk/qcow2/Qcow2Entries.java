package io.vstore.vdisk.qcow2;

import io.vstore.vdisk.CorruptImageException;

/**
 * The layout of L2 table entries for one image's geometry: decoding a 64-bit cluster descriptor
 * into its kind, host offset or compressed extent, and encoding new ones.
 *
 * <pre>
 *   bit 63     COPIED: refcount is exactly 1, the cluster may be written in place
 *   bit 62     compressed
 *   standard:   bits 9-55 host cluster offset, bit 0 reads as zeros (version 3)
 *   compressed: bits 0..x-1 host byte offset, bits x..61 additional 512-byte sectors,
 *               with x = 62 - (cluster_bits - 8)
 * </pre>
 *
 * <p>With extended L2 entries (incompatible feature bit 4) each entry is two words: the
 * descriptor above, whose bit 0 is unused, and a subcluster bitmap for the cluster's 32 equal
 * subclusters: bit x (0-31) "subcluster x is allocated" (its data is at host offset + x times the
 * subcluster size), bit 32 + x "subcluster x reads as zeros"; neither bit: unallocated, read from
 * the backing file. The bitmap of a compressed cluster is 0: it has no subclusters.
 */
final class Qcow2Entries {
  /** Host offset bits of a standard descriptor (and of L1 and refcount table entries). */
  static final long OFFSET_MASK = 0x00fffffffffffe00L;
  /** Refcount is exactly 1: the cluster may be written in place. */
  static final long OFLAG_COPIED = 1L << 63;
  /** The cluster is compressed. */
  static final long OFLAG_COMPRESSED = 1L << 62;
  /** The cluster reads as zeros (version 3, without extended entries). */
  static final long OFLAG_ZERO = 1L;
  /** Subclusters per cluster with extended L2 entries. */
  static final int SUBCLUSTERS = 32;
  /** The allocation half of a subcluster bitmap. */
  static final long ALLOC_ALL = 0xffffffffL;
  /** The "reads as zeros" half of a subcluster bitmap. */
  static final long ZERO_ALL = 0xffffffff00000000L;

  /** Kinds of L2 entry. */
  enum Kind { UNALLOCATED, ZERO_PLAIN, ZERO_ALLOC, NORMAL, COMPRESSED }

  /** What a guest byte reads as, by its entry. */
  enum State {
    /** Stored uncompressed at a host offset. */
    DATA,
    /** Reads as zeros. */
    ZERO,
    /** Not allocated here: reads from the backing file, or zeros without one. */
    BACKING,
    /** Part of a compressed cluster. */
    COMPRESSED
  }

  private final String file;
  private final int clusterBits;
  private final int clusterSize;
  private final int csizeShift;
  private final long csizeMask;
  private final long compressedOffsetMask;
  /** log2 of the entries in one L2 table. */
  final int l2Bits;
  /** Entries in one L2 table. */
  final int l2Entries;
  /** Whether entries carry a subcluster bitmap. */
  final boolean extended;
  /**
   * Whether data clusters live in an external data file, where host offset 0 is a real cluster:
   * an entry with offset 0 is then allocated when its COPIED flag is set (every such cluster has
   * refcount 1), as in QEMU.
   */
  final boolean dataFile;
  /** 64-bit words per entry: 1, or 2 with extended entries. */
  final int stride;
  /** log2 of the unit of allocation state: the subcluster, or the cluster without extended entries. */
  final int subclusterBits;

  /** Creates the layout for clusters of {@code 2^clusterBits} bytes, with or without extended entries. */
  Qcow2Entries(String file, int clusterBits, boolean extended) {
    this(file, clusterBits, extended, false);
  }

  /** Creates the layout as above; with {@code dataFile}, data clusters are in an external data file. */
  Qcow2Entries(String file, int clusterBits, boolean extended, boolean dataFile) {
    this.file = file;
    this.dataFile = dataFile;
    this.extended = extended;
    this.stride = extended ? 2 : 1;
    this.subclusterBits = extended ? clusterBits - 5 : clusterBits;
    this.clusterBits = clusterBits;
    this.clusterSize = 1 << clusterBits;
    this.csizeShift = 62 - (clusterBits - 8);
    this.csizeMask = (1L << (clusterBits - 8)) - 1;
    this.compressedOffsetMask = (1L << csizeShift) - 1;
    this.l2Bits = clusterBits - (extended ? 4 : 3);
    this.l2Entries = 1 << l2Bits;
  }

  /** Returns the kind of the cluster descriptor {@code e}. */
  Kind kind(long e) {
    if ((e & OFLAG_COMPRESSED) != 0) {
      return Kind.COMPRESSED;
    }
    boolean none = !hasHostCluster(e);
    if ((e & OFLAG_ZERO) != 0 && !extended) {
      return none ? Kind.ZERO_PLAIN : Kind.ZERO_ALLOC;
    }
    return none ? Kind.UNALLOCATED : Kind.NORMAL;
  }

  /** Returns whether the standard descriptor {@code e} points at a host cluster. */
  boolean hasHostCluster(long e) {
    return (e & OFFSET_MASK) != 0 || dataFile && (e & OFLAG_COPIED) != 0;
  }

  /** Returns the host offset of the standard descriptor {@code e} for guest {@code cluster}, checked for alignment. */
  long hostOffset(long e, long cluster) throws CorruptImageException {
    long off = e & OFFSET_MASK;
    if ((off & (clusterSize - 1)) != 0) {
      throw new CorruptImageException("bad qcow2: " + file + " data cluster for guest offset "
          + (cluster << clusterBits) + " at host 0x" + Long.toHexString(off) + " is not cluster-aligned");
    }
    return off;
  }

  /** Returns whether {@code e} is a data cluster that may be written in place (refcount 1). */
  boolean inPlace(long e) {
    return kind(e) == Kind.NORMAL && (e & OFLAG_COPIED) != 0;
  }

  /**
   * Returns what subcluster {@code sc} of the entry {@code e} with subcluster bitmap {@code bitmap}
   * reads as (without extended entries, the whole cluster: {@code bitmap} and {@code sc} are ignored).
   */
  State state(long e, long bitmap, int sc, long cluster) throws CorruptImageException {
    if (extended && (e & OFLAG_COMPRESSED) == 0) {
      if ((bitmap & (1L << sc)) != 0) {
        if (!hasHostCluster(e)) {
          throw new CorruptImageException("bad qcow2: " + file + " L2 entry for guest offset "
              + (cluster << clusterBits) + " has allocated subclusters but no host cluster (bitmap 0x"
              + Long.toHexString(bitmap) + ")");
        }
        return State.DATA;
      }
      return (bitmap & (1L << (32 + sc))) != 0 ? State.ZERO : State.BACKING;
    }
    return switch (kind(e)) {
      case NORMAL -> State.DATA;
      case ZERO_PLAIN, ZERO_ALLOC -> State.ZERO;
      case UNALLOCATED -> State.BACKING;
      case COMPRESSED -> State.COMPRESSED;
    };
  }

  /** Returns the host byte offset of the compressed descriptor {@code e}. */
  long compressedOffset(long e) {
    return e & compressedOffsetMask;
  }

  /** Returns the number of 512-byte sectors the compressed data of {@code e} may occupy. */
  int compressedSectors(long e) {
    return (int) ((e >>> csizeShift) & csizeMask) + 1;
  }

  /** Returns the descriptor of {@code length} compressed bytes stored at host byte {@code offset}. */
  long compressed(long offset, int length) {
    long sectors = ((offset + length - 1) >>> 9) - (offset >>> 9);
    return offset | (sectors << csizeShift) | OFLAG_COMPRESSED;
  }

  /** Returns log2 of the cluster size. */
  int clusterBits() {
    return clusterBits;
  }

  /** Returns the index of guest {@code cluster} in the L1 table. */
  int l1Index(long cluster) {
    return (int) (cluster >>> l2Bits);
  }

  /** Returns the index of the first word of guest {@code cluster}'s entry within its L2 table. */
  int wordIndex(long cluster) {
    return (int) (cluster & (l2Entries - 1)) * stride;
  }

  /** Returns whether {@code [inCluster, inCluster + n)} lies in allocated subclusters (always, without them). */
  boolean allocated(long bitmap, int inCluster, int n) {
    if (!extended) {
      return true;
    }
    long m = subclusterBits(inCluster, inCluster + n, false);
    return (bitmap & m) == m;
  }

  /** Returns the allocation bits of the subclusters that {@code [from, to)} touches (or only covers wholly). */
  long subclusterBits(int from, int to, boolean wholeOnly) {
    int sb = subclusterBits;
    int scs = 1 << sb;
    int first = (wholeOnly ? from + scs - 1 : from) >>> sb;
    int end = (wholeOnly ? to : to + scs - 1) >>> sb;
    return end <= first ? 0 : Qcow2Entries.allocBits(first, end);
  }

  /** Returns the bitmap bits of subclusters {@code [from, to)} (0 to 32) in the allocation half. */
  static long allocBits(int from, int to) {
    return to - from == 32 ? ALLOC_ALL : ((1L << (to - from)) - 1) << from;
  }

  /** Returns how many of {@code wanted} clusters from {@code cluster} lie in the same L2 table. */
  int clustersInTable(long cluster, long wanted) {
    return (int) Math.min(wanted, l2Entries - (cluster & (l2Entries - 1)));
  }
}
