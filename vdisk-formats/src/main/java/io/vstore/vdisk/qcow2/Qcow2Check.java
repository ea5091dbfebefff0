package io.vstore.vdisk.qcow2;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code image check} for qcow2, counted as {@code qemu-img check} counts: every cluster the
 * header, tables and snapshots reference is counted, and the counts are compared with the stored
 * refcounts. Too low a refcount (or a reference outside the file, an unaligned table, a wrong
 * COPIED flag) is a corruption; too high is a leak. Reads only.
 */
final class Qcow2Check {
  /** Largest number of clusters the check counts in memory (2 bytes each). */
  static final long MAX_CLUSTERS = 1L << 28;
  /** QEMU's limits on snapshots (QCOW_MAX_SNAPSHOTS and the table's size). */
  static final int MAX_SNAPSHOTS = 65536;
  static final long MAX_SNAPSHOT_TABLE = 64L << 20;
  private static final int MAX_REPORTED = 1000;

  private final String file;
  private final FileChannel ch;
  private final Qcow2Header h;
  private final int cs;
  private final int bits;
  private final long fileSize;
  private final long clusters;
  private final char[] refs;
  private final List<String> corruptions = new ArrayList<>();
  private final List<String> leaks = new ArrayList<>();
  private int moreCorruptions;
  private int structuralErrors; // problems other than refcount mismatches
  private int moreLeaks;
  private final List<long[]> copiedChecks = new ArrayList<>(); // {cluster, hasCopiedFlag, isL2}

  private Qcow2Check(String file, FileChannel ch, Qcow2Header h, long fileSize) throws UnsupportedFormatException {
    this.file = file;
    this.ch = ch;
    this.h = h;
    this.cs = h.clusterSize();
    this.bits = h.clusterBits();
    this.fileSize = fileSize;
    this.clusters = (fileSize + cs - 1) >>> bits;
    if (clusters > MAX_CLUSTERS) {
      throw new UnsupportedFormatException("unsupported qcow2 check: " + file + " has " + clusters
          + " clusters (limit " + MAX_CLUSTERS + ")");
    }
    this.refs = new char[(int) clusters];
  }

  /** Checks {@code path} without changing it. */
  static CheckResult check(Path path) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      String file = path.toString();
      long fileSize = ch.size();
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(fileSize, Qcow2Header.V3_LENGTH));
      Qcow2Io.readFully(ch, 0, head, file, "header");
      Qcow2Header h = Qcow2Header.read(head.flip(), file);
      Qcow2Check c = new Qcow2Check(file, ch, h, fileSize);
      c.run();
      List<String> corr = new ArrayList<>(c.corruptions);
      if (c.moreCorruptions > 0) {
        corr.add("... and " + c.moreCorruptions + " more corruptions");
      }
      List<String> lk = new ArrayList<>(c.leaks);
      if (c.moreLeaks > 0) {
        lk.add("... and " + c.moreLeaks + " more leaked clusters");
      }
      return new CheckResult(file, Qcow2Format.NAME, corr, lk, false);
    }
  }

  private void corrupt(String msg) {
    if (corruptions.size() < MAX_REPORTED) {
      corruptions.add(msg);
    } else {
      moreCorruptions++;
    }
  }

  private void leak(String msg) {
    if (leaks.size() < MAX_REPORTED) {
      leaks.add(msg);
    } else {
      moreLeaks++;
    }
  }

  /** Counts one reference to every cluster of {@code [offset, offset + length)}. */
  private boolean reference(long offset, long length, String what) {
    if (offset < 0 || length <= 0 || offset > fileSize || length > fileSize - offset + cs) {
      structuralErrors++;
      corrupt("ERROR " + what + " at 0x" + Long.toHexString(offset) + " length " + length
          + " is beyond the end of file (size " + fileSize + ")");
      return false;
    }
    for (long c = offset >>> bits; c <= (offset + length - 1) >>> bits; c++) {
      if (c >= clusters) {
        structuralErrors++;
        corrupt("ERROR " + what + ": cluster " + c + " is beyond the end of file");
        return false;
      }
      if (refs[(int) c] != Character.MAX_VALUE) {
        refs[(int) c]++;
      }
    }
    return true;
  }

  private boolean aligned(long offset, String what) {
    if ((offset & (cs - 1)) != 0) {
      structuralErrors++;
      corrupt("ERROR " + what + " at 0x" + Long.toHexString(offset) + " is not cluster-aligned");
      return false;
    }
    return true;
  }

  private void run() throws IOException {
    reference(0, cs, "header");
    walkL1(h.l1TableOffset(), Integer.toUnsignedLong(h.l1Size()), "active", true);
    walkSnapshots();
    long rtOffset = h.refcountTableOffset();
    long rtBytes = (long) h.refcountTableClusters() << bits;
    if (rtBytes == 0 || rtBytes > Qcow2Refcounts.MAX_TABLE_BYTES) {
      throw new CorruptImageException("bad qcow2: " + file + " refcount table of " + h.refcountTableClusters()
          + " clusters");
    }
    if (!aligned(rtOffset, "refcount table") || !reference(rtOffset, rtBytes, "refcount table")
        || rtOffset + rtBytes > fileSize) {
      corrupt("ERROR refcount table unreadable: refcounts not checked");
      return;
    }
    ByteBuffer t = read(rtOffset, (int) rtBytes);
    long[] table = new long[(int) (rtBytes / 8)];
    for (int i = 0; i < table.length; i++) {
      table[i] = t.getLong() & Qcow2Entries.OFFSET_MASK;
      if (table[i] != 0) {
        if (!aligned(table[i], "refcount block " + i) || table[i] + cs > fileSize + 0L
            || !reference(table[i], cs, "refcount block " + i)) {
          table[i] = -1;
        }
      }
    }
    int order = h.refcountOrder();
    long perBlock = ((long) cs * 8) >>> order;
    byte[] block = null;
    long blockIndex = -1;
    // Stored refcounts, kept for the COPIED checks (saturating: only "is it 1" matters there).
    char[] stored = new char[(int) clusters];
    for (long c = 0; c < clusters; c++) {
      long bi = c / perBlock;
      long s;
      if (bi >= table.length || table[(int) bi] == 0) {
        s = 0;
      } else if (table[(int) bi] < 0) {
        continue; // reported above
      } else {
        if (bi != blockIndex) {
          block = read(table[(int) bi], cs).array();
          blockIndex = bi;
        }
        s = entry(block, (int) (c % perBlock), order);
      }
      long r = refs[(int) c];
      if (s < r) {
        corrupt("ERROR cluster " + c + " refcount=" + s + " reference=" + r);
      } else if (s > r) {
        leak("Leaked cluster " + c + " refcount=" + s + " reference=" + r);
      }
      stored[(int) c] = (char) Math.min(s, Character.MAX_VALUE);
    }
    for (long[] check : copiedChecks) {
      long c = check[0];
      long bi = c / perBlock;
      if (c >= clusters || bi >= table.length || table[(int) bi] < 0) {
        continue;
      }
      long s = stored[(int) c];
      boolean copied = check[1] != 0;
      if (copied != (s == 1)) {
        corrupt("ERROR OFLAG_COPIED " + (check[2] != 0 ? "L2 cluster" : "data cluster") + " at 0x"
            + Long.toHexString(c << bits) + ": refcount=" + s + " but COPIED is " + (copied ? "set" : "clear"));
      }
    }
  }

  /**
   * Counts the references in {@code ch} (an image whose refcounts may be stale: the dirty bit) and
   * returns them per cluster, or throws when the tables themselves are damaged.
   */
  static char[] references(String file, FileChannel ch, Qcow2Header h, long fileSize) throws IOException {
    Qcow2Check c = new Qcow2Check(file, ch, h, fileSize);
    c.run();
    if (c.structuralErrors > 0) {
      throw new CorruptImageException("bad qcow2: " + file + " has damaged tables, refcounts cannot be rebuilt: "
          + c.corruptions.getFirst());
    }
    return c.refs;
  }

  private static long entry(byte[] b, int i, int order) {
    ByteBuffer bb = ByteBuffer.wrap(b);
    return switch (order) {
      case 0, 1, 2 -> {
        int w = 1 << order;
        int bitPos = i * w;
        yield (b[bitPos >>> 3] >>> (bitPos & 7)) & ((1 << w) - 1);
      }
      case 3 -> b[i] & 0xffL;
      case 4 -> bb.getShort(2 * i) & 0xffffL;
      case 5 -> bb.getInt(4 * i) & 0xffffffffL;
      default -> bb.getLong(8 * i);
    };
  }

  private ByteBuffer read(long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    Qcow2Io.readFully(ch, offset, b, file, "table");
    return b.flip().order(ByteOrder.BIG_ENDIAN);
  }

  private void walkL1(long l1Offset, long l1Size, String which, boolean active) throws IOException {
    if (l1Size == 0) {
      return;
    }
    if (l1Size * 8 > Qcow2L2Cache.MAX_L1_BYTES || !aligned(l1Offset, which + " L1 table")
        || !reference(l1Offset, l1Size * 8, which + " L1 table") || l1Offset + l1Size * 8 > fileSize) {
      return;
    }
    ByteBuffer l1 = read(l1Offset, (int) (l1Size * 8));
    int csizeShift = 62 - (bits - 8);
    long csizeMask = (1L << (bits - 8)) - 1;
    long coffMask = (1L << csizeShift) - 1;
    for (long i = 0; i < l1Size; i++) {
      long e = l1.getLong();
      long l2Off = e & Qcow2Entries.OFFSET_MASK;
      if (l2Off == 0) {
        continue;
      }
      String what = which + " L2 table " + i;
      if (!aligned(l2Off, what) || l2Off + cs > fileSize || !reference(l2Off, cs, what)) {
        if (l2Off + cs > fileSize) {
          corrupt("ERROR " + what + " at 0x" + Long.toHexString(l2Off) + " is beyond the end of file");
        }
        continue;
      }
      if (active) {
        copiedChecks.add(new long[] {l2Off >>> bits, e < 0 ? 1 : 0, 1});
      }
      ByteBuffer l2 = read(l2Off, cs);
      boolean extended = h.extendedL2();
      int l2Bits = bits - (extended ? 4 : 3);
      for (int j = 0; j < 1 << l2Bits; j++) {
        long x = l2.getLong();
        long bitmap = extended ? l2.getLong() : 0;
        long guest = ((i << l2Bits) + j) << bits;
        if (extended) {
          checkBitmap(x, bitmap, guest, which);
        }
        if ((x & Qcow2Entries.OFLAG_COMPRESSED) != 0) {
          long coff = x & coffMask;
          long sectors = ((x >>> csizeShift) & csizeMask) + 1;
          reference(coff & ~511L, sectors * 512, "compressed cluster for guest offset " + guest);
          continue;
        }
        long off = x & Qcow2Entries.OFFSET_MASK;
        if (off == 0) {
          continue;
        }
        if (h.hasDataFile()) {
          continue; // in the external data file, whose clusters are not refcounted
        }
        String dw = "data cluster for guest offset " + guest;
        if (aligned(off, dw) && reference(off, cs, dw) && active) {
          copiedChecks.add(new long[] {off >>> bits, x < 0 ? 1 : 0, 0});
        }
      }
    }
  }

  /** Reports a subcluster bitmap that the spec forbids, as qemu-img check does. */
  private void checkBitmap(long e, long bitmap, long guest, String which) {
    String what = which + " L2 entry for guest offset " + guest;
    if ((e & Qcow2Entries.OFLAG_COMPRESSED) != 0) {
      if (bitmap != 0) {
        corrupt("ERROR " + what + ": compressed cluster has subcluster bitmap 0x" + Long.toHexString(bitmap));
      }
      return;
    }
    long alloc = bitmap & Qcow2Entries.ALLOC_ALL;
    if ((alloc & (bitmap >>> 32)) != 0) {
      corrupt("ERROR " + what + ": subclusters both allocated and zero, bitmap 0x" + Long.toHexString(bitmap));
    } else if (alloc != 0 && (e & Qcow2Entries.OFFSET_MASK) == 0 && !(h.hasDataFile() && e < 0)) {
      corrupt("ERROR " + what + ": allocated subclusters without a host cluster, bitmap 0x"
          + Long.toHexString(bitmap));
    }
  }

  private void walkSnapshots() throws IOException {
    int n = h.nbSnapshots();
    if (n == 0) {
      return;
    }
    if (n > MAX_SNAPSHOTS) {
      corrupt("ERROR snapshot count " + n + " exceeds " + MAX_SNAPSHOTS);
      return;
    }
    long pos = h.snapshotsOffset();
    if (!aligned(pos, "snapshot table")) {
      return;
    }
    long start = pos;
    for (int s = 0; s < n; s++) {
      if (pos + 40 > fileSize || pos - start > MAX_SNAPSHOT_TABLE) {
        corrupt("ERROR snapshot table entry " + s + " at 0x" + Long.toHexString(pos) + " is beyond the end of file");
        return;
      }
      ByteBuffer e = read(pos, 40);
      long l1Off = e.getLong(0);
      long l1Size = Integer.toUnsignedLong(e.getInt(8));
      int idLen = Short.toUnsignedInt(e.getShort(12));
      int nameLen = Short.toUnsignedInt(e.getShort(14));
      long extra = Integer.toUnsignedLong(e.getInt(36));
      walkL1(l1Off, l1Size, "snapshot " + s, false);
      pos += 40 + extra + idLen + nameLen;
      pos = (pos + 7) & ~7L;
    }
    reference(start, pos - start, "snapshot table");
  }
}
