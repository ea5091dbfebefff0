package io.vstore.vdisk.qcow2;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.vdisk.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The L1 table and a bounded cache of L2 tables, read on demand and written back in the image's
 * flush order. All methods expect the image's {@code meta} lock to be held.
 */
final class Qcow2L2Cache {
  /** QEMU's limit on the L1 table (QCOW_MAX_L1_SIZE). */
  static final long MAX_L1_BYTES = 32L << 20;
  private static final long CACHE_BYTES = 32L << 20;

  /** Writes every dirty table in the safe order; called when dirty tables overflow the cache. */
  @FunctionalInterface
  interface Flusher {
    /** Flushes the image; the caller holds meta. */
    void flush() throws IOException;
  }

  /** One cached L2 table: its host offset and its raw 64-bit words. */
  static final class L2Table {
    /** Host offset of the table. */
    final long offset;
    /** The table's 64-bit words, one or two per entry. */
    final long[] words;
    /** Whether the words changed since the table was last written. */
    boolean dirty;

    L2Table(long offset, long[] words) {
      this.offset = offset;
      this.words = words;
    }
  }

  private final ReentrantLock meta;
  private final String file;
  private final FileChannel channel;
  private final int clusterSize;
  private final Qcow2Entries entries;
  private final long l1Offset;
  private final Qcow2Refcounts refcounts; // null when read-only
  private final Flusher flusher;
  private final int capacity;
  @GuardedBy("meta")
  private final long[] l1;
  @GuardedBy("meta")
  private boolean l1Dirty;
  @GuardedBy("meta")
  private final LinkedHashMap<Integer, L2Table> tables = new LinkedHashMap<>(64, 0.75f, true);

  /** Creates the cache over {@code l1}; {@code flusher} writes everything in order when dirty tables overflow it. */
  Qcow2L2Cache(ReentrantLock meta, String file, FileChannel channel, Qcow2Header header, Qcow2Entries entries,
      long[] l1, Qcow2Refcounts refcounts, Flusher flusher) {
    this.meta = meta;
    this.file = file;
    this.channel = channel;
    this.clusterSize = header.clusterSize();
    this.entries = entries;
    this.l1Offset = header.l1TableOffset();
    this.l1 = l1;
    this.refcounts = refcounts;
    this.flusher = flusher;
    this.capacity = (int) Math.max(16, CACHE_BYTES >>> header.clusterBits());
  }

  /** Reads and checks the L1 table of {@code h}, whose L2 tables hold {@code l2Entries} entries each. */
  static long[] readL1(FileChannel ch, Qcow2Header h, int l2Entries, String file, long fileSize) throws IOException {
    long l2Coverage = (long) l2Entries << h.clusterBits();
    long needed = (h.size() + l2Coverage - 1) / l2Coverage;
    long l1Size = Integer.toUnsignedLong(h.l1Size());
    if (l1Size < needed) {
      throw new CorruptImageException("bad qcow2: " + file + " L1 table of " + l1Size + " entries is too small for "
          + h.size() + " bytes (needs " + needed + ")");
    }
    if (l1Size * 8 > MAX_L1_BYTES) {
      throw new CorruptImageException("bad qcow2: " + file + " L1 table of " + l1Size + " entries exceeds "
          + MAX_L1_BYTES + " bytes");
    }
    long off = h.l1TableOffset();
    if (l1Size > 0 && (off <= 0 || (off & (h.clusterSize() - 1)) != 0 || off > fileSize
        || l1Size * 8 > fileSize - off)) {
      throw new CorruptImageException("bad qcow2: " + file + " L1 table at 0x" + Long.toHexString(off) + " ("
          + l1Size + " entries) is unaligned or beyond end of file (size " + fileSize + ")");
    }
    ByteBuffer buf = ByteBuffer.allocate((int) (l1Size * 8));
    Qcow2Io.readFully(ch, off, buf, file, "L1 table");
    buf.flip().order(ByteOrder.BIG_ENDIAN);
    long[] l1 = new long[(int) l1Size];
    for (int i = 0; i < l1.length; i++) {
      l1[i] = buf.getLong();
    }
    return l1;
  }

  /** Returns the L2 table for {@code l1Index}, or null when unallocated. */
  @GuardedBy("meta")
  L2Table get(int l1Index) throws IOException {
    L2Table t = tables.get(l1Index);
    if (t != null) {
      return t;
    }
    long off = l1[l1Index] & Qcow2Entries.OFFSET_MASK;
    if (off == 0) {
      return null;
    }
    long fileSize = channel.size();
    if ((off & (clusterSize - 1)) != 0 || off > fileSize - clusterSize) {
      throw new CorruptImageException("bad qcow2: " + file + " L2 table " + l1Index + " at 0x" + Long.toHexString(off)
          + " is unaligned or beyond end of file (size " + fileSize + ")");
    }
    ByteBuffer buf = ByteBuffer.allocate(clusterSize);
    Qcow2Io.readFully(channel, off, buf, file, "L2 table " + l1Index);
    buf.flip().order(ByteOrder.BIG_ENDIAN);
    long[] words = new long[clusterSize / 8];
    buf.asLongBuffer().get(words);
    t = new L2Table(off, words);
    cache(l1Index, t);
    return t;
  }

  /**
   * Returns the L2 table for {@code l1Index} ready to be changed: allocates an empty one if needed,
   * and copies one shared with an internal snapshot (COPIED clear in the L1 entry) first, so the
   * snapshot's view stays as it was.
   */
  @GuardedBy("meta")
  L2Table getForWrite(int l1Index) throws IOException {
    L2Table t = get(l1Index);
    if (t != null && (l1[l1Index] & Qcow2Entries.OFLAG_COPIED) == 0) {
      t = copyShared(l1Index, t);
    }
    if (t == null) {
      long off = refcounts.allocate(1);
      t = new L2Table(off, new long[clusterSize / 8]);
      t.dirty = true;
      l1[l1Index] = off | Qcow2Entries.OFLAG_COPIED;
      l1Dirty = true;
      cache(l1Index, t);
    }
    return t;
  }

  /**
   * Gives the active L1 table its own copy of the shared L2 table {@code t}: a new cluster with the
   * same entries (the data clusters' refcounts do not change: each L1 table still reaches them
   * once), the L1 entry pointing at it with COPIED set, and one reference to the old table released
   * once the new L1 is durable. A table whose refcount is already 1 only gets its COPIED flag back.
   */
  @GuardedBy("meta")
  private L2Table copyShared(int l1Index, L2Table t) throws IOException {
    l1Dirty = true;
    if (refcounts.refcount(t.offset >>> entries.clusterBits()) == 1) {
      l1[l1Index] = t.offset | Qcow2Entries.OFLAG_COPIED;
      return t;
    }
    long off = refcounts.allocate(1);
    L2Table copy = new L2Table(off, t.words.clone());
    copy.dirty = true;
    l1[l1Index] = off | Qcow2Entries.OFLAG_COPIED;
    // The old table may hold unwritten changes only if it was ours; a shared one never has any.
    tables.remove(l1Index);
    refcounts.release(t.offset);
    cache(l1Index, copy);
    return copy;
  }

  @GuardedBy("meta")
  private void cache(int l1Index, L2Table t) throws IOException {
    tables.put(l1Index, t);
    if (tables.size() > capacity) {
      evictClean();
      if (tables.size() > capacity && refcounts != null) {
        // Dirty tables may be written only after the refcounts that cover them: flush in order.
        flusher.flush();
        evictClean();
      }
    }
  }

  @GuardedBy("meta")
  private void evictClean() {
    Iterator<Map.Entry<Integer, L2Table>> it = tables.entrySet().iterator();
    while (it.hasNext() && tables.size() > capacity / 2) {
      if (!it.next().getValue().dirty) {
        it.remove();
      }
    }
  }

  /**
   * Copies the words of {@code count} entries from guest {@code cluster} (all in one L2 table):
   * {@code stride} words per entry.
   */
  @GuardedBy("meta")
  long[] lookup(long cluster, int count) throws IOException {
    long[] out = lookupMapped(cluster, count);
    return out != null ? out : new long[count * entries.stride];
  }

  /** Copies the words as {@link #lookup} does, or returns null when no L2 table holds them (all unallocated). */
  @GuardedBy("meta")
  long[] lookupMapped(long cluster, int count) throws IOException {
    L2Table t = get(entries.l1Index(cluster));
    if (t == null) {
      return null;
    }
    long[] out = new long[count * entries.stride];
    System.arraycopy(t.words, entries.wordIndex(cluster), out, 0, out.length);
    return out;
  }

  /** Writes the dirty L2 tables in place; returns whether there were any. */
  @GuardedBy("meta")
  boolean writeDirtyTables() throws IOException {
    boolean wrote = false;
    for (L2Table t : tables.values()) {
      if (t.dirty) {
        ByteBuffer buf = ByteBuffer.allocate(clusterSize).order(ByteOrder.BIG_ENDIAN);
        buf.asLongBuffer().put(t.words);
        Qcow2Io.writeFully(channel, t.offset, buf);
        t.dirty = false;
        wrote = true;
      }
    }
    return wrote;
  }

  /** Writes the L1 table when it changed; returns whether it did. */
  @GuardedBy("meta")
  boolean writeL1IfDirty() throws IOException {
    if (!l1Dirty) {
      return false;
    }
    ByteBuffer buf = ByteBuffer.allocate(l1.length * 8).order(ByteOrder.BIG_ENDIAN);
    buf.asLongBuffer().put(l1);
    Qcow2Io.writeFully(channel, l1Offset, buf);
    l1Dirty = false;
    return true;
  }
}
