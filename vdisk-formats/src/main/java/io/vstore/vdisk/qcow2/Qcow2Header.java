package io.vstore.vdisk.qcow2;

import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The fixed qcow2 header at offset 0 (QEMU's {@code docs/interop/qcow2.txt}), big-endian:
 *
 * <pre>
 *   0  magic "QFI\xfb"          4  version (2 or 3)
 *   8  backing_file_offset     16  backing_file_size (u32)
 *  20  cluster_bits            24  size (virtual, bytes)
 *  32  crypt_method            36  l1_size (entries)
 *  40  l1_table_offset         48  refcount_table_offset
 *  56  refcount_table_clusters 60  nb_snapshots
 *  64  snapshots_offset        -- version 3 only --
 *  72  incompatible_features   80  compatible_features
 *  88  autoclear_features      96  refcount_order
 * 100  header_length          104  compression_type (u8, when header_length > 104)
 * </pre>
 *
 * Header extensions follow at {@code header_length} (72 for version 2).
 */
record Qcow2Header(
    int version,
    long backingFileOffset,
    int backingFileSize,
    int clusterBits,
    long size,
    int cryptMethod,
    int l1Size,
    long l1TableOffset,
    long refcountTableOffset,
    int refcountTableClusters,
    int nbSnapshots,
    long snapshotsOffset,
    long incompatibleFeatures,
    long compatibleFeatures,
    long autoclearFeatures,
    int refcountOrder,
    int headerLength,
    int compressionType) {

  static final int MAGIC = 0x514649fb;
  static final int V2_LENGTH = 72;
  static final int V3_MIN_LENGTH = 104;
  /** Length vstore writes for version 3: the compression type byte padded to a multiple of 8. */
  static final int V3_LENGTH = 112;
  static final int MIN_CLUSTER_BITS = 9;
  static final int MAX_CLUSTER_BITS = 21;

  static final long INCOMPAT_DIRTY = 1L;
  static final long INCOMPAT_CORRUPT = 1L << 1;
  static final long INCOMPAT_DATA_FILE = 1L << 2;
  static final long INCOMPAT_COMPRESSION = 1L << 3;
  static final long INCOMPAT_EXTL2 = 1L << 4;
  /** The incompatible bits vstore understands; any other set bit is refused. */
  static final long INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION
      | INCOMPAT_EXTL2;
  /** Autoclear bit: the external data file reads as the guest disk by itself (a raw image). */
  static final long AUTOCLEAR_DATA_FILE_RAW = 1L << 1;
  /** Smallest cluster_bits with extended L2 entries (subclusters of at least 512 bytes). */
  static final int MIN_EXTL2_CLUSTER_BITS = 14;
  static final long COMPAT_LAZY_REFCOUNTS = 1L;

  static final int COMPRESSION_ZLIB = 0;
  static final int COMPRESSION_ZSTD = 1;

  /** Returns whether L2 entries are extended (128 bits, with a subcluster bitmap). */
  boolean extendedL2() {
    return (incompatibleFeatures & INCOMPAT_EXTL2) != 0;
  }

  /** Returns whether guest data lives in an external data file (incompatible feature bit 2). */
  boolean hasDataFile() {
    return (incompatibleFeatures & INCOMPAT_DATA_FILE) != 0;
  }

  /** Returns whether the external data file is kept readable as a raw image by itself (autoclear bit 1). */
  boolean dataFileRaw() {
    return hasDataFile() && (autoclearFeatures & AUTOCLEAR_DATA_FILE_RAW) != 0;
  }

  /** Returns the cluster size in bytes. */
  int clusterSize() {
    return 1 << clusterBits;
  }

  /** Reads and validates the fixed fields from {@code buf} (at its position; big-endian). */
  static Qcow2Header read(ByteBuffer buf, String file) throws CorruptImageException, UnsupportedFormatException {
    ByteBuffer b = buf.slice().order(ByteOrder.BIG_ENDIAN);
    if (b.remaining() < V2_LENGTH) {
      throw new CorruptImageException("not a qcow2: " + file + " is shorter than a header (" + b.remaining() + " bytes)");
    }
    if (b.getInt(0) != MAGIC) {
      throw new CorruptImageException(String.format("not a qcow2: %s has magic 0x%08x", file, b.getInt(0)));
    }
    int version = b.getInt(4);
    if (version < 2 || version > 3) {
      throw new UnsupportedFormatException("qcow2 " + file, Integer.toUnsignedLong(version), 2, 3);
    }
    long incompat = 0;
    long compat = 0;
    long autoclear = 0;
    int refcountOrder = 4;
    int headerLength = V2_LENGTH;
    int compressionType = COMPRESSION_ZLIB;
    if (version == 3) {
      if (b.remaining() < V3_MIN_LENGTH) {
        throw new CorruptImageException("bad qcow2: " + file + " version 3 header truncated at " + b.remaining());
      }
      incompat = b.getLong(72);
      compat = b.getLong(80);
      autoclear = b.getLong(88);
      refcountOrder = b.getInt(96);
      headerLength = b.getInt(100);
      if (headerLength < V3_MIN_LENGTH) {
        throw new CorruptImageException("bad qcow2: " + file + " header_length " + Integer.toUnsignedString(headerLength)
            + " (expected at least " + V3_MIN_LENGTH + ")");
      }
      if (headerLength > V3_MIN_LENGTH) {
        if (b.remaining() <= V3_MIN_LENGTH) {
          throw new CorruptImageException("bad qcow2: " + file + " header truncated before compression_type");
        }
        compressionType = Byte.toUnsignedInt(b.get(104));
      }
    }
    Qcow2Header h = new Qcow2Header(version, b.getLong(8), b.getInt(16), b.getInt(20), b.getLong(24), b.getInt(32),
        b.getInt(36), b.getLong(40), b.getLong(48), b.getInt(56), b.getInt(60), b.getLong(64), incompat, compat,
        autoclear, refcountOrder, headerLength, compressionType);
    h.validateFields(file);
    return h;
  }

  private void validateFields(String file) throws CorruptImageException, UnsupportedFormatException {
    if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
      throw new UnsupportedFormatException("unsupported qcow2: " + file + " cluster_bits " + clusterBits
          + " (supported " + MIN_CLUSTER_BITS + ".." + MAX_CLUSTER_BITS + ")");
    }
    if (size < 0) {
      throw new CorruptImageException("bad qcow2: " + file + " virtual size " + Long.toUnsignedString(size));
    }
    if (cryptMethod != 0) {
      throw new UnsupportedFormatException("unsupported qcow2: " + file + " is encrypted (crypt_method " + cryptMethod + ")");
    }
    long unknown = incompatibleFeatures & ~INCOMPAT_KNOWN;
    if (unknown != 0) {
      int bit = Long.numberOfTrailingZeros(unknown);
      throw new UnsupportedFormatException("unsupported qcow2: " + file + " incompatible feature bit " + bit);
    }
    if (extendedL2() && clusterBits < MIN_EXTL2_CLUSTER_BITS) {
      throw new CorruptImageException("bad qcow2: " + file + " has extended L2 entries with cluster_bits " + clusterBits
          + " (at least " + MIN_EXTL2_CLUSTER_BITS + ")");
    }
    if ((incompatibleFeatures & INCOMPAT_COMPRESSION) == 0 ? compressionType != COMPRESSION_ZLIB
        : compressionType != COMPRESSION_ZSTD && compressionType != COMPRESSION_ZLIB) {
      throw new UnsupportedFormatException("unsupported qcow2: " + file + " compression_type " + compressionType);
    }
    if (refcountOrder < 0 || refcountOrder > 6) {
      throw new UnsupportedFormatException("unsupported qcow2: " + file + " refcount_order " + refcountOrder
          + " (supported 0..6)");
    }
    if (headerLength > clusterSize()) {
      throw new CorruptImageException("bad qcow2: " + file + " header_length " + headerLength
          + " exceeds the cluster size " + clusterSize());
    }
    if (backingFileOffset != 0) {
      if (backingFileSize <= 0 || backingFileSize > 1023 || backingFileOffset < 0
          || backingFileOffset + backingFileSize > clusterSize()) {
        throw new CorruptImageException("bad qcow2: " + file + " backing file name at " + backingFileOffset
            + " length " + Integer.toUnsignedString(backingFileSize) + " is not inside the first cluster");
      }
    }
    if (l1Size < 0) {
      throw new CorruptImageException("bad qcow2: " + file + " l1_size " + Integer.toUnsignedString(l1Size));
    }
    if (refcountTableClusters < 0) {
      throw new CorruptImageException("bad qcow2: " + file + " refcount_table_clusters "
          + Integer.toUnsignedString(refcountTableClusters));
    }
    if (nbSnapshots < 0) {
      throw new CorruptImageException("bad qcow2: " + file + " nb_snapshots " + Integer.toUnsignedString(nbSnapshots));
    }
  }

  /** Returns the number of bytes {@link #write} produces. */
  int encodedLength() {
    return version == 2 ? V2_LENGTH : headerLength;
  }

  /** Writes the fixed fields at {@code buf}'s position (big-endian) and advances it. */
  void write(ByteBuffer buf) {
    ByteBuffer b = buf.slice().order(ByteOrder.BIG_ENDIAN);
    b.putInt(MAGIC).putInt(version).putLong(backingFileOffset).putInt(backingFileSize).putInt(clusterBits)
        .putLong(size).putInt(cryptMethod).putInt(l1Size).putLong(l1TableOffset).putLong(refcountTableOffset)
        .putInt(refcountTableClusters).putInt(nbSnapshots).putLong(snapshotsOffset);
    if (version == 3) {
      b.putLong(incompatibleFeatures).putLong(compatibleFeatures).putLong(autoclearFeatures).putInt(refcountOrder)
          .putInt(headerLength);
      while (b.position() < headerLength) {
        b.put((byte) 0);
      }
      if (headerLength > V3_MIN_LENGTH) {
        b.put(V3_MIN_LENGTH, (byte) compressionType);
      }
    }
    buf.position(buf.position() + b.position());
  }

  /** Returns a copy with new refcount table location. */
  Qcow2Header withRefcountTable(long offset, int clusters) {
    return new Qcow2Header(version, backingFileOffset, backingFileSize, clusterBits, size, cryptMethod, l1Size,
        l1TableOffset, offset, clusters, nbSnapshots, snapshotsOffset, incompatibleFeatures, compatibleFeatures,
        autoclearFeatures, refcountOrder, headerLength, compressionType);
  }

  /** Returns a copy with new feature bits. */
  Qcow2Header withFeatures(long incompatible, long autoclear) {
    return new Qcow2Header(version, backingFileOffset, backingFileSize, clusterBits, size, cryptMethod, l1Size,
        l1TableOffset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset, incompatible,
        compatibleFeatures, autoclear, refcountOrder, headerLength, compressionType);
  }
  /** Returns a copy whose snapshot table holds {@code count} entries at {@code offset} (0 when none). */
  Qcow2Header withSnapshots(int count, long offset) {
    return new Qcow2Header(version, backingFileOffset, backingFileSize, clusterBits, size, cryptMethod, l1Size,
        l1TableOffset, refcountTableOffset, refcountTableClusters, count, offset, incompatibleFeatures,
        compatibleFeatures, autoclearFeatures, refcountOrder, headerLength, compressionType);
  }

  /** Returns a copy with the active L1 table of {@code entries} entries at {@code offset}. */
  Qcow2Header withL1(long offset, int entries) {
    return new Qcow2Header(version, backingFileOffset, backingFileSize, clusterBits, size, cryptMethod, entries,
        offset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset, incompatibleFeatures,
        compatibleFeatures, autoclearFeatures, refcountOrder, headerLength, compressionType);
  }

  /** Returns a copy with virtual size {@code bytes}. */
  Qcow2Header withSize(long bytes) {
    return new Qcow2Header(version, backingFileOffset, backingFileSize, clusterBits, bytes, cryptMethod, l1Size,
        l1TableOffset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset, incompatibleFeatures,
        compatibleFeatures, autoclearFeatures, refcountOrder, headerLength, compressionType);
  }

  /** Returns a copy whose backing file name ({@code length} bytes at {@code offset}; 0, 0 for none) moved. */
  Qcow2Header withBackingName(long offset, int length) {
    return new Qcow2Header(version, offset, length, clusterBits, size, cryptMethod, l1Size,
        l1TableOffset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset, incompatibleFeatures,
        compatibleFeatures, autoclearFeatures, refcountOrder, headerLength, compressionType);
  }
}
