package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.store.ChannelOpener;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.UnsupportedFormatException;
import io.vstore.vdisk.qcow2.Qcow2Entries.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;

/**
 * The metadata of a qcow2 file that no {@link Qcow2Image} has open, edited in place by the verbs
 * that change whole tables at once: internal snapshots ({@link Qcow2Snapshots}) and resize. It
 * holds the header, the active L1 table and the refcounts, and offers the steps those verbs are
 * ordered from: counting a whole L1 tree up or down, setting the COPIED flags from the refcounts,
 * and writing refcounts, tables and header with a sync between them.
 *
 * <p>Not thread-safe; one verb at a time owns the file.
 */
final class Qcow2Metadata implements AutoCloseable {
  final String file;
  final FileChannel channel;
  final Qcow2Entries layout;
  final int clusterBits;
  final int clusterSize;
  final Qcow2Refcounts refcounts; // null when opened read-only
  Qcow2Header header;
  long[] l1;

  private Qcow2Metadata(String file, FileChannel channel, Qcow2Header header, Qcow2Refcounts refcounts, long[] l1) {
    this.file = file;
    this.channel = channel;
    this.header = header;
    this.layout = new Qcow2Entries(file, header.clusterBits(), header.extendedL2(), header.hasDataFile());
    this.clusterBits = header.clusterBits();
    this.clusterSize = header.clusterSize();
    this.refcounts = refcounts;
    this.l1 = l1;
  }

  /**
   * Opens {@code path} for a metadata edit ({@code readOnly}: for listing). An image left dirty by a
   * killed writer first has its refcounts rebuilt, as opening it read-write does; a corrupt one is
   * refused.
   */
  static Qcow2Metadata open(Path path, boolean readOnly, ChannelOpener channels) throws IOException {
    String file = path.toString();
    if (!readOnly) {
      Qcow2Header first = readHeader(path, file);
      if ((first.incompatibleFeatures() & Qcow2Header.INCOMPAT_CORRUPT) != 0) {
        throw new UnsupportedFormatException("unsupported qcow2: " + file
            + " is marked corrupt; repair it first (qemu-img check -r all)");
      }
      if ((first.incompatibleFeatures() & Qcow2Header.INCOMPAT_DIRTY) != 0) {
        // Opening read-write rebuilds the refcounts and clears the bit; closing makes it durable.
        Qcow2Image.open(path, false, ImageFormats.chainOpener(path), false, true, channels).close();
      }
    }
    FileChannel ch = channels.open(path, readOnly ? Set.of(StandardOpenOption.READ)
        : Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
    boolean success = false;
    try {
      long fileSize = ch.size();
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(fileSize, Qcow2Header.V3_LENGTH));
      Qcow2Io.readFully(ch, 0, head, file, "header");
      Qcow2Header h = Qcow2Header.read(head.flip(), file);
      Qcow2Entries layout = new Qcow2Entries(file, h.clusterBits(), h.extendedL2(), h.hasDataFile());
      long[] l1 = Qcow2L2Cache.readL1(ch, h, layout.l2Entries, file, fileSize);
      Qcow2Refcounts rc = readOnly ? null : new Qcow2Refcounts(file, ch, h, fileSize);
      Qcow2Metadata m = new Qcow2Metadata(file, ch, h, rc, l1);
      success = true;
      return m;
    } finally {
      if (!success) {
        ch.close();
      }
    }
  }

  private static Qcow2Header readHeader(Path path, String file) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(ch.size(), Qcow2Header.V3_LENGTH));
      Qcow2Io.readFully(ch, 0, head, file, "header");
      return Qcow2Header.read(head.flip(), file);
    }
  }

  /** Returns the snapshot table as stored now. */
  List<Qcow2SnapshotTable.Entry> snapshots() throws IOException {
    return Qcow2SnapshotTable.read(channel, header, channel.size(), file);
  }

  /** Returns the number of L1 entries an image of {@code size} bytes needs. */
  long l1EntriesFor(long size) {
    long coverage = (long) layout.l2Entries << clusterBits;
    return (size + coverage - 1) / coverage;
  }

  /** Returns the clusters {@code bytes} bytes of table occupy. */
  int clustersFor(long bytes) {
    return (int) ((bytes + clusterSize - 1) >>> clusterBits);
  }

  /** Reads the L1 table of {@code entries} entries at {@code offset} (a snapshot's), checking where it lies. */
  long[] readL1(long offset, int entries, String what) throws IOException {
    long fileSize = channel.size();
    long bytes = (long) entries * 8;
    if (entries == 0) {
      return new long[0];
    }
    if (offset <= 0 || (offset & (clusterSize - 1)) != 0 || bytes > Qcow2L2Cache.MAX_L1_BYTES
        || offset > fileSize - bytes) {
      throw new CorruptImageException("bad qcow2: " + file + " " + what + " L1 table at 0x" + Long.toHexString(offset)
          + " (" + Integer.toUnsignedString(entries) + " entries) is unaligned or beyond end of file (size "
          + fileSize + ")");
    }
    ByteBuffer buf = ByteBuffer.allocate((int) bytes);
    Qcow2Io.readFully(channel, offset, buf, file, what + " L1 table");
    long[] out = new long[entries];
    buf.flip().order(ByteOrder.BIG_ENDIAN).asLongBuffer().get(out);
    return out;
  }

  /** Writes {@code table} (COPIED flags as given) at {@code offset}, zero-padded to {@code entries} entries. */
  void writeL1(long offset, long[] table, int entries) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(entries * 8).order(ByteOrder.BIG_ENDIAN);
    for (int i = 0; i < entries; i++) {
      buf.putLong(i < table.length ? table[i] : 0);
    }
    Qcow2Io.writeFully(channel, offset, buf.flip());
  }

  /** Returns a copy of {@code table} without COPIED flags: what an L1 copy that shares everything holds. */
  static long[] withoutCopied(long[] table, int entries) {
    long[] out = new long[entries];
    for (int i = 0; i < Math.min(entries, table.length); i++) {
      out[i] = table[i] & ~Qcow2Entries.OFLAG_COPIED;
    }
    return out;
  }

  private long l2Offset(long l1Entry, int index, String what) throws IOException {
    long off = l1Entry & Qcow2Entries.OFFSET_MASK;
    if (off != 0 && ((off & (clusterSize - 1)) != 0 || off > channel.size() - clusterSize)) {
      throw new CorruptImageException("bad qcow2: " + file + " " + what + " L2 table " + index + " at 0x"
          + Long.toHexString(off) + " is unaligned or beyond end of file (size " + channel.size() + ")");
    }
    return off;
  }

  private long[] readL2(long offset) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(clusterSize);
    Qcow2Io.readFully(channel, offset, buf, file, "L2 table at 0x" + Long.toHexString(offset));
    long[] words = new long[clusterSize / 8];
    buf.flip().order(ByteOrder.BIG_ENDIAN).asLongBuffer().get(words);
    return words;
  }

  private void writeL2(long offset, long[] words) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(clusterSize).order(ByteOrder.BIG_ENDIAN);
    buf.asLongBuffer().put(words);
    Qcow2Io.writeFully(channel, offset, buf);
  }

  /**
   * Counts every cluster the L1 tree {@code table} reaches (its L2 tables and their data clusters,
   * compressed ones included) one reference up ({@code up}) or down. Increments are applied in
   * memory at once; decrements wait until {@link #applyFrees}, called once the tables that dropped
   * the references are durable.
   */
  void countTree(long[] table, boolean up, String what) throws IOException {
    if (header.hasDataFile()) {
      throw new UnsupportedFormatException("unsupported qcow2: " + file
          + " uses an external data file, whose clusters are not refcounted (QEMU has no internal snapshots there)");
    }
    int st = layout.stride;
    for (int i = 0; i < table.length; i++) {
      long l2 = l2Offset(table[i], i, what);
      if (l2 == 0) {
        continue;
      }
      count(l2, up);
      long[] words = readL2(l2);
      for (int w = 0; w < words.length; w += st) {
        long e = words[w];
        Kind k = layout.kind(e);
        if (k == Kind.NORMAL || k == Kind.ZERO_ALLOC) {
          long off = e & Qcow2Entries.OFFSET_MASK;
          if (off != 0) {
            checkData(off, clusterSize, i, w / st, what);
            count(off, up);
          }
        } else if (k == Kind.COMPRESSED) {
          long start = layout.compressedOffset(e) & ~511L;
          long end = start + (long) layout.compressedSectors(e) * 512;
          checkData(start, end - start, i, w / st, what);
          for (long c = start >>> clusterBits; c <= (end - 1) >>> clusterBits; c++) {
            count(c << clusterBits, up);
          }
        }
      }
    }
  }

  /** Refuses a data reference that is unaligned or lies past the end of the file (as qemu-img check does). */
  private void checkData(long offset, long length, int l1Index, int l2Index, String what) throws IOException {
    long fileSize = channel.size();
    boolean plain = length == clusterSize;
    if (offset <= 0 || plain && (offset & (clusterSize - 1)) != 0 || offset > fileSize || length > fileSize - offset
        + clusterSize) {
      throw new CorruptImageException("bad qcow2: " + file + " " + what + " L2 table " + l1Index + " entry " + l2Index
          + " points at 0x" + Long.toHexString(offset) + " (" + length + " bytes), unaligned or beyond end of file"
          + " (size " + fileSize + ")");
    }
  }

  private void count(long offset, boolean up) throws IOException {
    if (up) {
      refcounts.increment(offset >>> clusterBits);
    } else {
      refcounts.release(offset);
    }
  }

  /** Drops one reference to each of the {@code clusters} clusters from {@code offset} once {@link #applyFrees} runs. */
  void releaseClusters(long offset, int clusters) {
    for (int i = 0; i < clusters; i++) {
      refcounts.release(offset + ((long) i << clusterBits));
    }
  }

  /**
   * Sets the COPIED flag of every entry of the active L1 table and its L2 tables to "refcount is
   * 1", as QEMU requires of the active table, writing each L2 table that changed and then the L1
   * table; the caller syncs.
   */
  void fixCopied() throws IOException {
    int st = layout.stride;
    boolean l1Changed = false;
    for (int i = 0; i < l1.length; i++) {
      long l2 = l2Offset(l1[i], i, "active");
      if (l2 == 0) {
        if (l1[i] != 0) {
          l1[i] = 0; // a COPIED flag without a table
          l1Changed = true;
        }
        continue;
      }
      long entry = refcounts.refcount(l2 >>> clusterBits) == 1 ? l2 | Qcow2Entries.OFLAG_COPIED : l2;
      if (entry != l1[i]) {
        l1[i] = entry;
        l1Changed = true;
      }
      long[] words = readL2(l2);
      boolean changed = false;
      for (int w = 0; w < words.length; w += st) {
        long e = words[w];
        Kind k = layout.kind(e);
        if (k == Kind.NORMAL || k == Kind.ZERO_ALLOC) {
          long off = e & Qcow2Entries.OFFSET_MASK;
          if (off == 0) {
            continue;
          }
          long want = refcounts.refcount(off >>> clusterBits) == 1 ? e | Qcow2Entries.OFLAG_COPIED
              : e & ~Qcow2Entries.OFLAG_COPIED;
          if (want != e) {
            words[w] = want;
            changed = true;
          }
        }
      }
      if (changed) {
        writeL2(l2, words);
      }
    }
    if (l1Changed) {
      writeL1(header.l1TableOffset(), l1, l1.length);
    }
  }

  /**
   * Writes the refcount blocks changed in memory, and (after a sync) the refcount table and the
   * header when the table moved; syncs at the end. This is the "increments are durable" step.
   */
  void writeRefcounts() throws IOException {
    refcounts.writeDirty(this::sync);
    sync();
    if (refcounts.tableMoved()) {
      header = header.withRefcountTable(refcounts.tableOffset(), refcounts.tableClusters());
      writeHeader();
      sync();
      refcounts.headerWritten();
    }
  }

  /** Applies the waiting decrements (the tables that dropped them are durable) and writes them, then syncs. */
  void applyFrees() throws IOException {
    if (refcounts.hasPendingFrees()) {
      refcounts.applyPendingFrees();
      writeRefcounts();
    }
  }

  /** Writes the fixed header fields (extensions stay as they are). */
  void writeHeader() throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(header.encodedLength());
    header.write(buf);
    Qcow2Io.writeFully(channel, 0, buf.flip());
  }

  /** Makes what was written durable; the edit's order depends on it. */
  void sync() throws IOException {
    channel.force(false);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
