package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.OutOfSpaceException;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The refcount table and blocks of an open qcow2 image, and the cluster allocator built on them.
 * Not thread-safe: {@link Qcow2Image} calls it under its metadata lock.
 *
 * <p>Increments are applied in memory at once and written before any table that points at the
 * new cluster; decrements wait in {@link #pendingFree} until the tables that stopped pointing at a
 * cluster are durable, and freed clusters are reused only after that. An interrupted write can
 * therefore leave refcounts too high (leaks), never too low (corruption).
 */
final class Qcow2Refcounts {
  /** QEMU's limit on the refcount table (QCOW_MAX_REFTABLE_SIZE). */
  static final long MAX_TABLE_BYTES = 8L << 20;
  private static final long OFFSET_MASK = 0x00fffffffffffe00L;

  private final String file;
  private final FileChannel channel;
  private final int clusterBits;
  private final int clusterSize;
  private final int refcountOrder;
  private final int entriesPerBlock;
  private final long maxRefcount;

  private long[] table;
  private long tableOffset;
  private boolean tableDirty;
  private boolean tableMoved;
  private final Map<Long, byte[]> blocks = new HashMap<>(); // block index -> contents
  private final Map<Long, Boolean> dirtyBlocks = new HashMap<>();
  private final List<Long> pendingFree = new ArrayList<>(); // host cluster indexes to decrement
  private final ArrayDeque<Long> freeClusters = new ArrayDeque<>();
  private long nextFree; // first cluster index of the never-used space at the end

  Qcow2Refcounts(String file, FileChannel channel, Qcow2Header h, long fileSize) throws IOException {
    this.file = file;
    this.channel = channel;
    this.clusterBits = h.clusterBits();
    this.clusterSize = h.clusterSize();
    this.refcountOrder = h.refcountOrder();
    this.entriesPerBlock = (clusterSize * 8) >>> refcountOrder;
    this.maxRefcount = refcountOrder == 6 ? Long.MAX_VALUE : (1L << (1 << refcountOrder)) - 1;
    long tableBytes = (long) h.refcountTableClusters() << clusterBits;
    if (tableBytes == 0 || tableBytes > MAX_TABLE_BYTES) {
      throw new CorruptImageException("bad qcow2: " + file + " refcount table of " + h.refcountTableClusters()
          + " clusters (limit " + (MAX_TABLE_BYTES >> clusterBits) + ")");
    }
    this.tableOffset = h.refcountTableOffset();
    checkTableRange("refcount table", tableOffset, tableBytes, fileSize);
    ByteBuffer buf = ByteBuffer.allocate((int) tableBytes);
    Qcow2Io.readFully(channel, tableOffset, buf, file, "refcount table");
    buf.flip().order(ByteOrder.BIG_ENDIAN);
    this.table = new long[(int) (tableBytes / 8)];
    long lastUsed = -1;
    for (int i = 0; i < table.length; i++) {
      long e = buf.getLong();
      table[i] = e;
      if (e != 0) {
        long off = e & OFFSET_MASK;
        if ((off & (clusterSize - 1)) != 0 || off + clusterSize > fileSize || off == 0) {
          throw new CorruptImageException("bad qcow2: " + file + " refcount block " + i + " at 0x"
              + Long.toHexString(e) + " is unaligned or beyond end of file (size " + fileSize + ")");
        }
        lastUsed = i;
      }
    }
    this.nextFree = (fileSize + clusterSize - 1) >>> clusterBits;
    if (lastUsed >= 0) {
      // Clusters past the end of file may still be counted (preallocated metadata); never hand them out.
      byte[] last = block(lastUsed);
      for (int i = entriesPerBlock - 1; i >= 0; i--) {
        if (get(last, i) != 0) {
          nextFree = Math.max(nextFree, lastUsed * entriesPerBlock + i + 1);
          break;
        }
      }
    }
  }

  private void checkTableRange(String what, long offset, long length, long fileSize) throws CorruptImageException {
    if (offset <= 0 || (offset & (clusterSize - 1)) != 0 || offset > fileSize || length > fileSize - offset) {
      throw new CorruptImageException("bad qcow2: " + file + " " + what + " at 0x" + Long.toHexString(offset)
          + " length " + length + " is unaligned or beyond end of file (size " + fileSize + ")");
    }
  }

  /** Returns the refcount of host cluster {@code cluster} as currently known in memory. */
  long refcount(long cluster) throws IOException {
    long bi = cluster / entriesPerBlock;
    if (bi >= table.length || table[(int) bi] == 0) {
      return 0;
    }
    return get(block(bi), (int) (cluster % entriesPerBlock));
  }

  private byte[] block(long bi) throws IOException {
    byte[] b = blocks.get(bi);
    if (b == null) {
      long off = table[(int) bi] & OFFSET_MASK;
      ByteBuffer buf = ByteBuffer.allocate(clusterSize);
      Qcow2Io.readFully(channel, off, buf, file, "refcount block " + bi);
      b = buf.array();
      blocks.put(bi, b);
    }
    return b;
  }

  private long get(byte[] b, int i) {
    return switch (refcountOrder) {
      case 0, 1, 2 -> {
        int bits = 1 << refcountOrder;
        int bitPos = i * bits;
        yield (b[bitPos >>> 3] >>> (bitPos & 7)) & ((1 << bits) - 1);
      }
      case 3 -> b[i] & 0xffL;
      case 4 -> ((b[2 * i] & 0xffL) << 8) | (b[2 * i + 1] & 0xffL);
      case 5 -> ByteBuffer.wrap(b).getInt(4 * i) & 0xffffffffL;
      default -> ByteBuffer.wrap(b).getLong(8 * i);
    };
  }

  private void set(byte[] b, int i, long v) {
    switch (refcountOrder) {
      case 0, 1, 2 -> {
        int bits = 1 << refcountOrder;
        int bitPos = i * bits;
        int mask = ((1 << bits) - 1) << (bitPos & 7);
        b[bitPos >>> 3] = (byte) ((b[bitPos >>> 3] & ~mask) | ((int) v << (bitPos & 7)) & mask);
      }
      case 3 -> b[i] = (byte) v;
      case 4 -> {
        b[2 * i] = (byte) (v >>> 8);
        b[2 * i + 1] = (byte) v;
      }
      case 5 -> ByteBuffer.wrap(b).putInt(4 * i, (int) v);
      default -> ByteBuffer.wrap(b).putLong(8 * i, v);
    }
  }

  /** Adds one reference to {@code cluster}, creating its refcount block (and growing the table) if needed. */
  void increment(long cluster) throws IOException {
    long bi = cluster / entriesPerBlock;
    if (bi >= table.length) {
      growTable(bi + 1);
    }
    if (table[(int) bi] == 0) {
      newBlock(bi);
    }
    byte[] b = block(bi);
    int i = (int) (cluster % entriesPerBlock);
    long v = get(b, i);
    if (v >= maxRefcount) {
      throw new UnsupportedFormatException("unsupported qcow2: " + file + " refcount of cluster " + cluster
          + " would exceed " + maxRefcount + " (refcount_order " + refcountOrder + ")");
    }
    set(b, i, v + 1);
    dirtyBlocks.put(bi, Boolean.TRUE);
  }

  private void newBlock(long bi) throws IOException {
    long c = takeFromEnd(1);
    blocks.put(bi, new byte[clusterSize]);
    table[(int) bi] = c << clusterBits;
    tableDirty = true;
    dirtyBlocks.put(bi, Boolean.TRUE);
    increment(c); // usually counted by the block itself, which covers the end of the file
  }

  private void growTable(long minEntries) throws IOException {
    long entries = Math.max(minEntries, (long) table.length * 2);
    long clusters;
    while (true) {
      clusters = (entries * 8 + clusterSize - 1) >>> clusterBits;
      // The new table and the blocks that count it sit past the current end, so cover them too.
      long needed = (nextFree + 2 * clusters + 2) / entriesPerBlock + 2;
      if (needed <= entries) {
        break;
      }
      entries = needed;
    }
    if ((clusters << clusterBits) > MAX_TABLE_BYTES) {
      throw new OutOfSpaceException("qcow2 " + file + ": the refcount table would exceed QEMU's limit of "
          + MAX_TABLE_BYTES + " bytes; use a larger cluster size");
    }
    long oldOffset = tableOffset;
    int oldClusters = (int) (((long) table.length * 8) >>> clusterBits);
    long start = takeFromEnd((int) clusters);
    long[] grown = new long[(int) ((clusters << clusterBits) / 8)];
    System.arraycopy(table, 0, grown, 0, table.length);
    table = grown;
    tableOffset = start << clusterBits;
    tableDirty = true;
    tableMoved = true;
    for (long c = start; c < start + clusters; c++) {
      increment(c);
    }
    for (int i = 0; i < oldClusters; i++) {
      pendingFree.add((oldOffset >>> clusterBits) + i);
    }
  }

  /** Takes {@code n} contiguous never-used clusters from the end of the file, without counting them. */
  private long takeFromEnd(int n) throws IOException {
    long start = nextFree;
    // A cluster past the end may be counted already (see the constructor); skip over such ones.
    for (long c = start; c < start + n; c++) {
      if (refcount(c) != 0) {
        start = c + 1;
      }
    }
    nextFree = start + n;
    return start;
  }

  /** Allocates {@code n} contiguous clusters with refcount 1 and returns the first one's byte offset. */
  long allocate(int n) throws IOException {
    long start;
    if (n == 1 && !freeClusters.isEmpty()) {
      start = freeClusters.pop();
    } else {
      start = takeFromEnd(n);
    }
    for (long c = start; c < start + n; c++) {
      increment(c);
    }
    return start << clusterBits;
  }

  /** Allocates {@code n} contiguous clusters from the end of the file (never reused ones), refcount 1. */
  long allocateAtEnd(int n) throws IOException {
    long start = takeFromEnd(n);
    for (long c = start; c < start + n; c++) {
      increment(c);
    }
    return start << clusterBits;
  }

  /** Returns whether {@code cluster} is the last one handed out from the end and its successor is still unused. */
  boolean canExtend(long cluster) {
    return nextFree == cluster + 1;
  }

  /** Returns the largest refcount an entry can hold. */
  long maxRefcount() {
    return maxRefcount;
  }

  /** Records that one reference to the cluster at byte {@code offset} goes away once the tables are durable. */
  void release(long offset) {
    pendingFree.add(offset >>> clusterBits);
  }

  /** Returns whether any refcount metadata must be written. */
  boolean isDirty() {
    return !dirtyBlocks.isEmpty() || tableDirty;
  }

  /** Returns whether decrements are waiting for the tables to become durable. */
  boolean hasPendingFrees() {
    return !pendingFree.isEmpty();
  }

  /** Returns whether the table moved, so the header must be rewritten after {@link #writeDirty}. */
  boolean tableMoved() {
    return tableMoved;
  }

  long tableOffset() {
    return tableOffset;
  }

  int tableClusters() {
    return (int) (((long) table.length * 8) >>> clusterBits);
  }

  /**
   * Writes dirty refcount blocks, then (after a sync, so no table entry points at an unwritten
   * block) the table if it changed. The caller syncs afterwards and rewrites the header if the table
   * moved.
   */
  void writeDirty() throws IOException {
    for (Long bi : dirtyBlocks.keySet()) {
      Qcow2Io.writeFully(channel, table[(int) (long) bi] & OFFSET_MASK, ByteBuffer.wrap(blocks.get(bi)));
    }
    dirtyBlocks.clear();
    if (tableDirty) {
      channel.force(false);
      ByteBuffer buf = ByteBuffer.allocate(table.length * 8).order(ByteOrder.BIG_ENDIAN);
      for (long e : table) {
        buf.putLong(e);
      }
      Qcow2Io.writeFully(channel, tableOffset, buf.flip());
      tableDirty = false;
    }
  }

  /** Marks the header as matching the table's location. */
  void headerWritten() {
    tableMoved = false;
  }

  /**
   * Applies the waiting decrements (the tables that dropped those references are durable now) and
   * makes clusters that reach zero available again. The caller then writes and syncs.
   */
  void applyPendingFrees() throws IOException {
    for (long c : pendingFree) {
      long bi = c / entriesPerBlock;
      if (bi >= table.length || table[(int) bi] == 0) {
        throw new CorruptImageException("bad qcow2: " + file + " freeing cluster " + c + " that has no refcount block");
      }
      byte[] b = block(bi);
      int i = (int) (c % entriesPerBlock);
      long v = get(b, i);
      if (v == 0) {
        throw new CorruptImageException("bad qcow2: " + file + " freeing cluster " + c + " whose refcount is already 0");
      }
      set(b, i, v - 1);
      dirtyBlocks.put(bi, Boolean.TRUE);
      if (v == 1) {
        freeClusters.push(c);
      }
    }
    pendingFree.clear();
  }
}
