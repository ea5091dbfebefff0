package io.vstore.vdisk.vmdk;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A hosted sparse extent ("KDMV"): header, grain directory (and its redundant copy), grain
 * tables and grains; with compressed grains and markers it is a streamOptimized extent (read only).
 *
 * <p>Reads run under the image's read lock and may load grain tables concurrently (a load is
 * idempotent, published through an atomic array); writes run under the image's write lock.
 */
final class SparseExtent extends GrainedExtent {
  static final int SECTOR = 512;

  private final boolean writable;
  private final SparseHeader header;
  private final int[] gd;
  private final int[] rgd; // null without a redundant directory
  private final AtomicReferenceArray<int[]> tables;
  private final AtomicReferenceArray<int[]> redundantTables;
  /**
   * Grain tables a lookup found to hold only zeros, one bit each: such a table (preallocated and
   * never written, as qemu and vstore create them) is remembered, not cached, because a 64 TiB
   * extent has 2 Mi of them (4 GiB) and a lookup over the whole extent would otherwise keep them all.
   */
  private final java.util.concurrent.atomic.AtomicLongArray zeroTables;
  /** Largest directory whose tables are scanned for reusable space before the first change. */
  static final int MAX_SCANNED_TABLES = 1 << 14;
  /** Most grain tables a lookup reads at once. */
  private static final int LOOKUP_BATCH = 64;
  @GuardedBy("VmdkImage.lock")
  private final TreeSet<Long> freeGrains = new TreeSet<>(); // the owning image's lock, held for writing
  @GuardedBy("VmdkImage.lock")
  private boolean freeScanned; // the owning image's lock, held for writing
  @GuardedBy("VmdkImage.lock")
  private long fileSize; // the owning image's lock, held for writing when written
  // Table and directory changes reach the file only at flush, after the data they point at is
  // durable; grains freed since the last flush are reused only after it, once no durable table
  // still points at them.
  @GuardedBy("VmdkImage.lock")
  private final java.util.BitSet dirtyTables = new java.util.BitSet(); // the owning image's lock, held for writing
  @GuardedBy("VmdkImage.lock")
  private final java.util.BitSet dirtyRedundantTables = new java.util.BitSet(); // likewise
  @GuardedBy("VmdkImage.lock")
  private boolean dirtyDirectories; // likewise
  @GuardedBy("VmdkImage.lock")
  private final java.util.List<Long> freedSinceFlush = new java.util.ArrayList<>(); // likewise
  private volatile CachedGrain cached; // last inflated grain of a compressed extent

  private record CachedGrain(long index, byte[] data) {}

  private SparseExtent(Path file, FileChannel channel, boolean writable, SparseHeader header, long size, int[] gd, int[] rgd,
      long fileSize) {
    super(file, channel, size, header.grainSize() * SECTOR, header.numGtesPerGt());
    this.writable = writable;
    this.header = header;
    this.gd = gd;
    this.rgd = rgd;
    this.tables = new AtomicReferenceArray<>(gd.length);
    this.redundantTables = new AtomicReferenceArray<>(rgd == null ? 0 : rgd.length);
    this.zeroTables = new java.util.concurrent.atomic.AtomicLongArray((gd.length + 63) / 64);
    this.fileSize = fileSize;
  }

  /** Opens the sparse extent in {@code file}; the extent line gives its guest size. */
  static SparseExtent open(Path file, FileChannel channel, boolean writable, long size) throws IOException {
    SparseHeader h = SparseHeaders.read(file, channel);
    if (size > h.capacity() * SECTOR) {
      throw new CorruptImageException("bad vmdk: " + file + ": extent line size " + size + " exceeds the extent capacity "
          + h.capacity() * SECTOR);
    }
    if (writable && h.compressed()) {
      throw new UnsupportedFormatException("unsupported vmdk: " + file
          + ": an existing streamOptimized (compressed) extent opens read-only; convert it to write");
    }
    long fileSize = channel.size();
    int entries = (int) SparseHeaders.gdEntries(h);
    int[] gd = readTable(channel, h.gdOffset(), entries, file + ": grain directory");
    int[] rgd = h.redundant() ? readTable(channel, h.rgdOffset(), entries, file + ": redundant grain directory") : null;
    return new SparseExtent(file, channel, writable, h, size, gd, rgd, fileSize);
  }

  private static int[] readTable(FileChannel ch, long sector, int entries, String what) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(entries * 4).order(ByteOrder.LITTLE_ENDIAN);
    ChannelIo.readFully(ch, sector * SECTOR, b, what);
    b.flip();
    int[] t = new int[entries];
    b.asIntBuffer().get(t);
    return t;
  }

  /** Returns the header (or footer) in effect. */
  SparseHeader header() {
    return header;
  }

  /** Returns a copy of the grain directory. */
  int[] directory() {
    return gd.clone();
  }

  /** Returns a copy of the redundant grain directory, or null. */
  int[] redundantDirectory() {
    return rgd == null ? null : rgd.clone();
  }

  /** Returns grain table {@code index}, loading and validating it on first use; null if unallocated. */
  int[] table(int index) throws IOException {
    return table(index, gd, tables, "grain table");
  }

  /** Returns redundant grain table {@code index}, or null. */
  int[] redundantTable(int index) throws IOException {
    return rgd == null ? null : table(index, rgd, redundantTables, "redundant grain table");
  }

  private int[] table(int index, int[] dir, AtomicReferenceArray<int[]> cache, String what) throws IOException {
    int[] t = cache.get(index);
    if (t != null) {
      return t;
    }
    t = load(index, dir, what);
    if (t == null) {
      return null;
    }
    // Two readers may load the same table; either copy is the same bytes.
    cache.compareAndSet(index, null, t);
    return cache.get(index);
  }

  /** Reads table {@code index} of directory {@code dir} from the file; null if unallocated. */
  private int[] load(int index, int[] dir, String what) throws IOException {
    long sector = Integer.toUnsignedLong(dir[index]);
    if (sector == 0) {
      return null;
    }
    long end = sector * SECTOR + (long) gtes() * 4;
    if (end > fileSize) {
      throw new CorruptImageException("bad vmdk: " + file() + ": " + what + " " + index + " at sector " + sector
          + " lies past end of file (size " + fileSize + ")");
    }
    return readTable(channel(), sector, gtes(), file() + ": " + what + " " + index);
  }

  /**
   * Returns grain table {@code index} for a lookup, or null when it is unallocated or holds only
   * zeros (every grain a hole). Writers use {@link #table(int)}, which always caches: the cache is
   * looked at first, so a table written since it was found empty is seen.
   */
  private int[] lookupTable(int index) throws IOException {
    int[] t = tables.get(index);
    if (t != null || (zeroTables.get(index >>> 6) & (1L << index)) != 0) {
      return t;
    }
    long sector = Integer.toUnsignedLong(gd[index]);
    if (sector == 0) {
      return null;
    }
    // Preallocated tables follow each other in the file: read up to 64 of them (128 KiB) at once,
    // so that a lookup over a huge, mostly empty extent makes few reads.
    int tableSectors = (gtes() * 4 + SECTOR - 1) / SECTOR;
    int n = 1;
    while (n < LOOKUP_BATCH && index + n < gd.length
        && Integer.toUnsignedLong(gd[index + n]) == sector + (long) n * tableSectors && tables.get(index + n) == null
        && (sector + (long) (n + 1) * tableSectors) * SECTOR <= fileSize) {
      n++;
    }
    if (n == 1) {
      return settle(index, load(index, gd, "grain table"));
    }
    int stride = tableSectors * SECTOR / 4;
    int[] run = readTable(channel(), sector, n * stride, file() + ": grain tables " + index + ".." + (index + n - 1));
    for (int k = n - 1; k >= 0; k--) {
      t = settle(index + k, java.util.Arrays.copyOfRange(run, k * stride, k * stride + gtes()));
    }
    return t;
  }

  /** Caches lookup table {@code index}, {@code t}, or only remembers it when it holds only zeros (then returns null). */
  private int[] settle(int index, int[] t) {
    if (java.util.Arrays.stream(t).allMatch(e -> e == 0)) {
      zeroTables.getAndAccumulate(index >>> 6, 1L << index, (a, b) -> a | b);
      return null;
    }
    tables.compareAndSet(index, null, t);
    return tables.get(index);
  }

  /** Returns the grain table entry of grain {@code grain} (0 if its table is unallocated). */
  long entry(long grain) throws IOException {
    int[] t = lookupTable((int) (grain / gtes()));
    return t == null ? 0 : Integer.toUnsignedLong(t[(int) (grain % gtes())]);
  }

  private Extent.Kind kindOf(long gte) {
    if (gte == 0) {
      return Extent.Kind.HOLE;
    }
    if (gte == 1 && header.zeroGrain()) {
      return Extent.Kind.ZERO;
    }
    return Extent.Kind.DATA;
  }

  @Override
  Extent.Kind grainKind(long grain) throws IOException {
    int[] t = lookupTable((int) (grain / gtes()));
    return t == null ? null : kindOf(Integer.toUnsignedLong(t[(int) (grain % gtes())]));
  }

  @Override
  public void readData(long offset, ByteBuffer dst) throws IOException {
    eachGrain(offset, dst, (grain, in, part) -> {
      long gte = entry(grain);
      if (header.compressed()) {
        byte[] data = inflate(grain, gte);
        part.put(data, in, part.remaining());
      } else {
        long pos = gte * SECTOR;
        if (pos >= fileSize) {
          throw new CorruptImageException("bad vmdk: " + file() + ": grain " + grain + " at sector " + gte
              + " lies past end of file (size " + fileSize + ")");
        }
        ChannelIo.readPadded(channel(), pos + in, part);
      }
    });
  }

  private byte[] inflate(long grain, long gte) throws IOException {
    CachedGrain c = cached;
    if (c != null && c.index == grain) {
      return c.data;
    }
    long pos = gte * SECTOR;
    int headerLen = header.markers() ? GrainMarker.GRAIN_HEADER : 0;
    if (pos + headerLen >= fileSize) {
      throw new CorruptImageException("bad vmdk: " + file() + ": compressed grain " + grain + " at sector " + gte
          + " lies past end of file (size " + fileSize + ")");
    }
    // Deflate never grows data by more than a few bytes per 16 KiB block; anything larger is damage.
    long bound = grainBytes() + grainBytes() / 8 + 1024;
    int compressed;
    if (header.markers()) {
      ByteBuffer m = ByteBuffer.allocate(GrainMarker.GRAIN_HEADER);
      ChannelIo.readFully(channel(), pos, m, file() + ": grain marker");
      m.flip();
      GrainMarker marker = GrainMarker.read(m);
      if (marker.value() != grain * header.grainSize()) {
        throw new CorruptImageException("bad vmdk: " + file() + ": grain marker at sector " + gte + " names LBA " + marker.value()
            + ", expected " + grain * header.grainSize());
      }
      long sz = Integer.toUnsignedLong(marker.size());
      if (sz == 0 || sz > bound || pos + headerLen + sz > fileSize) {
        throw new CorruptImageException("bad vmdk: " + file() + ": grain marker at sector " + gte + " has size " + sz
            + " (at most " + bound + ", within the file of " + fileSize + " bytes)");
      }
      compressed = (int) sz;
    } else {
      compressed = (int) Math.min(bound, fileSize - pos);
    }
    byte[] in = new byte[compressed];
    ChannelIo.readFully(channel(), pos + headerLen, ByteBuffer.wrap(in), file() + ": compressed grain " + grain);
    byte[] out = new byte[(int) grainBytes()];
    Inflater inflater = new Inflater();
    try {
      inflater.setInput(in);
      int got = 0;
      while (got < out.length && !inflater.finished()) {
        int n = inflater.inflate(out, got, out.length - got);
        if (n == 0) {
          break; // input exhausted or a dictionary wanted: a short grain
        }
        got += n;
      }
      // A short last grain is padded with zeros, as qemu reads it.
    } catch (DataFormatException e) {
      throw new CorruptImageException("bad vmdk: " + file() + ": compressed grain " + grain + " at sector " + gte
          + " does not inflate: " + e.getMessage(), e);
    } finally {
      inflater.end();
    }
    cached = new CachedGrain(grain, out);
    return out;
  }

  private void checkWritable() throws ReadOnlyDeviceException {
    if (!writable) {
      throw new ReadOnlyDeviceException(file() + " is opened read-only");
    }
  }

  /**
   * Finds grain-sized space past the metadata that no table references (left by discards in
   * earlier sessions or by an interrupted writer) so new grains reuse it. Runs once, before the
   * first change: slots found here are gaps between referenced ranges, and slots freed later are
   * whole former grains, so no two free slots can overlap.
   */
  private void scanFreeGrains() throws IOException {
    freeScanned = true;
    if (gd.length > MAX_SCANNED_TABLES) {
      return; // too many tables to read for a convenience: such space stays a leak
    }
    long gtSectors = ((long) gtes() * 4 + SECTOR - 1) / SECTOR;
    long gdSectors = ((long) gd.length * 4 + SECTOR - 1) / SECTOR;
    java.util.List<long[]> used = new java.util.ArrayList<>();
    long start = Math.max(header.overhead(), 1);
    start = Math.max(start, header.gdOffset() + gdSectors);
    start = Math.max(start, header.descriptorOffset() + header.descriptorSize());
    if (rgd != null) {
      start = Math.max(start, header.rgdOffset() + gdSectors);
    }
    for (int i = 0; i < gd.length; i++) {
      addTable(used, gd[i], gtSectors, table(i));
      if (rgd != null) {
        addTable(used, rgd[i], gtSectors, redundantTable(i));
      }
    }
    used.sort((a, b) -> Long.compare(a[0], b[0]));
    long cursor = start;
    long end = fileSize / SECTOR;
    for (long[] r : used) {
      for (long slot = cursor; slot + header.grainSize() <= Math.min(r[0], end); slot += header.grainSize()) {
        freeGrains.add(slot);
      }
      cursor = Math.max(cursor, r[1]);
    }
    for (long slot = cursor; slot + header.grainSize() <= end; slot += header.grainSize()) {
      freeGrains.add(slot);
    }
  }

  private void addTable(java.util.List<long[]> used, int tableSector, long gtSectors, int[] t) {
    if (t == null) {
      return;
    }
    long at = Integer.toUnsignedLong(tableSector);
    used.add(new long[] {at, at + gtSectors});
    for (int e : t) {
      long gte = Integer.toUnsignedLong(e);
      if (kindOf(gte) == Extent.Kind.DATA) {
        used.add(new long[] {gte, gte + header.grainSize()});
      }
    }
  }

  @Override
  public void write(long offset, ByteBuffer src, Underlay under) throws IOException {
    checkWritable();
    if (!freeScanned) {
      scanFreeGrains();
    }
    eachGrain(offset, src, (grain, in, part) -> {
      long gte = entry(grain);
      if (kindOf(gte) == Extent.Kind.DATA) {
        FileContent.writeFully(channel(), gte * SECTOR + in, part);
      } else {
        ByteBuffer whole;
        if (part.remaining() == grainBytes()) {
          whole = part;
        } else {
          whole = ByteBuffer.allocate((int) grainBytes());
          if (gte == 0) {
            fillUnder(grain, whole, under);
          }
          whole.clear().position(in);
          whole.put(part).clear();
        }
        allocate(grain, whole);
      }
    });
  }

  private void fillUnder(long grain, ByteBuffer whole, Underlay under) throws IOException {
    long start = grain * grainBytes();
    int inside = (int) Math.min(grainBytes(), size() - start);
    under.read(start, whole.slice(0, inside));
  }

  private void allocate(long grain, ByteBuffer data) throws IOException {
    Long free = freeGrains.pollFirst();
    long sector = free != null ? free : (fileSize + SECTOR - 1) / SECTOR;
    if (sector > 0xffffffffL - header.grainSize()) {
      throw new io.vstore.blockstore.OutOfSpaceException(file() + ": sparse extent full (grain offsets are 32-bit sectors)");
    }
    // Data before the table entry: a crash in between leaks the grain but never maps garbage.
    FileContent.writeFully(channel(), sector * SECTOR, data);
    fileSize = Math.max(fileSize, sector * SECTOR + grainBytes());
    setEntry(grain, sector);
  }

  private void setEntry(long grain, long value) throws IOException {
    int index = (int) (grain / gtes());
    int slot = (int) (grain % gtes());
    int[] t = table(index);
    if (t == null) {
      t = allocateTable(index, gd, tables, header.gdOffset());
    }
    t[slot] = (int) value;
    dirtyTables.set(index);
    if (rgd != null) {
      int[] r = redundantTable(index);
      if (r == null) {
        r = allocateTable(index, rgd, redundantTables, header.rgdOffset());
      }
      r[slot] = (int) value;
      dirtyRedundantTables.set(index);
    }
  }

  private int[] allocateTable(int index, int[] dir, AtomicReferenceArray<int[]> cache, long dirSector) throws IOException {
    long bytes = ((long) gtes() * 4 + SECTOR - 1) / SECTOR * SECTOR;
    long sector = (fileSize + SECTOR - 1) / SECTOR;
    FileContent.writeFully(channel(), sector * SECTOR, ByteBuffer.allocate((int) bytes));
    fileSize = sector * SECTOR + bytes;
    dir[index] = (int) sector;
    dirtyDirectories = true;
    int[] t = new int[gtes()];
    cache.set(index, t);
    return t;
  }

  @Override
  public void zero(long offset, long length, boolean hasParent, Underlay under) throws IOException {
    checkWritable();
    if (!freeScanned) {
      scanFreeGrains();
    }
    long end = offset + length;
    while (offset < end) {
      long grain = offset / grainBytes();
      long grainStart = grain * grainBytes();
      long n = Math.min(end - offset, grainStart + grainBytes() - offset);
      long gte = entry(grain);
      Extent.Kind kind = kindOf(gte);
      boolean whole = offset == grainStart && (n == grainBytes() || offset + n == size());
      if (whole && (header.zeroGrain() || !hasParent)) {
        if (kind == Extent.Kind.DATA) {
          freedSinceFlush.add(gte);
        }
        long marker = header.zeroGrain() ? 1 : 0;
        if (gte != marker) {
          setEntry(grain, marker);
        }
      } else if (kind == Extent.Kind.DATA || (kind == Extent.Kind.HOLE && hasParent)) {
        write(offset, ByteBuffer.allocate((int) n), under);
      }
      offset += n;
    }
  }

  /**
   * Makes the data durable, then writes the changed grain tables and directories and makes them
   * durable too, so that no durable table entry ever points at data that a power cut lost.
   */
  @Override
  public void flush() throws IOException {
    if (!writable) {
      return;
    }
    channel().force(true);
    if (dirtyTables.isEmpty() && dirtyRedundantTables.isEmpty() && !dirtyDirectories) {
      return;
    }
    writeTables(dirtyTables, gd, tables);
    if (rgd != null) {
      writeTables(dirtyRedundantTables, rgd, redundantTables);
    }
    if (dirtyDirectories) {
      writeDirectory(gd, header.gdOffset());
      if (rgd != null) {
        writeDirectory(rgd, header.rgdOffset());
      }
      dirtyDirectories = false;
    }
    channel().force(true);
    freeGrains.addAll(freedSinceFlush);
    freedSinceFlush.clear();
  }

  private void writeTables(java.util.BitSet dirty, int[] dir, AtomicReferenceArray<int[]> cache) throws IOException {
    for (int i = dirty.nextSetBit(0); i >= 0; i = dirty.nextSetBit(i + 1)) {
      int[] t = cache.get(i);
      ByteBuffer b = ByteBuffer.allocate(t.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      b.asIntBuffer().put(t);
      FileContent.writeFully(channel(), Integer.toUnsignedLong(dir[i]) * SECTOR, b);
    }
    dirty.clear();
  }

  private void writeDirectory(int[] dir, long dirSector) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(dir.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asIntBuffer().put(dir);
    FileContent.writeFully(channel(), dirSector * SECTOR, b);
  }

  /** Returns the current file size as this extent knows it. */
  long fileSize() {
    return fileSize;
  }
}
