package io.vstore.vdisk.vmdk;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * An SESparse extent, read-only. Directory entries are grain table <em>indexes</em> tagged 0x1
 * in the top nibble; table entries are tagged by their top nibble: 0 unallocated, 1 unmapped and
 * 2 zero (both read zeros), 3 allocated, whose grain index is stored with its low 12 bits in bits
 * 48..59 and the rest in bits 0..47.
 */
final class SeSparseExtent extends GrainedExtent {
  private static final int SECTOR = 512;
  private static final long TAG = 0xf000000000000000L;
  private static final long GD_ALLOCATED = 0x1000000000000000L;
  private static final long UNMAPPED = 0x1000000000000000L;
  private static final long ZERO = 0x2000000000000000L;
  private static final long ALLOCATED = 0x3000000000000000L;

  private final SeSparseHeader header;
  private final long fileSize;
  private final long[] gd;
  private final AtomicReferenceArray<long[]> tables;

  private SeSparseExtent(Path file, FileChannel channel, SeSparseHeader header, long size, long fileSize, long[] gd) {
    super(file, channel, size, header.grainSize() * SECTOR, (int) (header.grainTableSize() * SECTOR / 8));
    this.header = header;
    this.fileSize = fileSize;
    this.gd = gd;
    this.tables = new AtomicReferenceArray<>(gd.length);
  }

  /** Opens and validates the SESparse extent in {@code file}; the extent line gives its guest size. */
  static SeSparseExtent open(Path file, FileChannel channel, long size) throws IOException {
    long fileSize = channel.size();
    String f = "bad vmdk: " + file + ": ";
    ByteBuffer b = ByteBuffer.allocate(SeSparseHeader.SIZE);
    ChannelIo.readFully(channel, 0, b, file + ": SESparse header");
    b.flip();
    if (!SeSparseHeader.hasMagic(b)) {
      throw new CorruptImageException(f + "SESparse extent lacks the 0xcafebabe magic");
    }
    SeSparseHeader h = SeSparseHeader.read(b);
    if (h.version() != SeSparseHeader.VERSION) {
      throw new UnsupportedFormatException("unsupported vmdk: " + file + ": SESparse version 0x" + Long.toHexString(h.version())
          + " (supported 0x200000001)");
    }
    if (h.grainSize() != 8 || h.grainTableSize() != 64 || h.flags() != 0) {
      throw new UnsupportedFormatException("unsupported vmdk: " + file + ": SESparse grain size " + h.grainSize()
          + ", grain table size " + h.grainTableSize() + ", flags 0x" + Long.toHexString(h.flags())
          + " (supported: 8, 64, 0)");
    }
    if (h.capacity() < 0 || h.capacity() > ExtentLine.MAX_SECTORS || size > h.capacity() * SECTOR) {
      throw new CorruptImageException(f + "SESparse capacity " + h.capacity() + " sectors does not cover the extent line size "
          + size);
    }
    checkArea(file, "volatile header", h.volatileHeaderOffset(), 1, fileSize);
    ByteBuffer v = ByteBuffer.allocate(SeSparseHeader.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    ChannelIo.readFully(channel, h.volatileHeaderOffset() * SECTOR, v, file + ": SESparse volatile header");
    if (v.getLong(0) != SeSparseHeader.VOLATILE_MAGIC) {
      throw new CorruptImageException(f + "SESparse volatile header lacks the 0xcafecafe magic");
    }
    if (v.getLong(24) != 0) {
      throw new UnsupportedFormatException("unsupported vmdk: " + file + ": SESparse journal must be replayed (image dirty)");
    }
    long perTable = (long) h.grainTableSize() * SECTOR / 8 * h.grainSize();
    long needed = (h.capacity() + perTable - 1) / perTable;
    long entries = h.grainDirSize() * SECTOR / 8;
    if (h.grainDirSize() < 0 || h.grainDirSize() > SparseHeaders.MAX_GD_ENTRIES / 64 || entries < needed) {
      throw new CorruptImageException(f + "SESparse grain directory of " + h.grainDirSize() + " sectors, " + needed
          + " entries needed");
    }
    checkArea(file, "grain directory", h.grainDirOffset(), (needed * 8 + SECTOR - 1) / SECTOR, fileSize);
    ByteBuffer gdBuf = ByteBuffer.allocate((int) (needed * 8)).order(ByteOrder.LITTLE_ENDIAN);
    ChannelIo.readFully(channel, h.grainDirOffset() * SECTOR, gdBuf, file + ": SESparse grain directory");
    long[] gd = new long[(int) needed];
    gdBuf.flip().asLongBuffer().get(gd);
    return new SeSparseExtent(file, channel, h, size, fileSize, gd);
  }

  private static void checkArea(Path file, String what, long sector, long sectors, long fileSize) throws CorruptImageException {
    if (sector <= 0 || sector > fileSize / SECTOR || sectors > fileSize / SECTOR - sector) {
      throw new CorruptImageException("bad vmdk: " + file + ": SESparse " + what + " at sector " + sector + " (" + sectors
          + " sectors) lies outside the file (size " + fileSize + ")");
    }
  }

  private long[] table(int index) throws IOException {
    long[] t = tables.get(index);
    if (t != null) {
      return t;
    }
    long e = gd[index];
    if (e == 0) {
      return null;
    }
    if ((e & 0xffffffff00000000L) != GD_ALLOCATED) {
      throw new CorruptImageException("bad vmdk: " + file() + ": SESparse grain directory entry " + index + " is 0x"
          + Long.toHexString(e));
    }
    long sector = header.grainTablesOffset() + (e & 0xffffffffL) * header.grainTableSize();
    if (sector * SECTOR + (long) gtes() * 8 > fileSize) {
      throw new CorruptImageException("bad vmdk: " + file() + ": SESparse grain table " + index + " at sector " + sector
          + " lies past end of file (size " + fileSize + ")");
    }
    ByteBuffer b = ByteBuffer.allocate(gtes() * 8).order(ByteOrder.LITTLE_ENDIAN);
    ChannelIo.readFully(channel(), sector * SECTOR, b, file() + ": SESparse grain table " + index);
    t = new long[gtes()];
    b.flip().asLongBuffer().get(t);
    tables.compareAndSet(index, null, t);
    return tables.get(index);
  }

  /** Returns the entry of grain {@code grain}, 0 when its table is unallocated. */
  private long entry(long grain) throws IOException {
    long[] t = table((int) (grain / gtes()));
    return t == null ? 0 : t[(int) (grain % gtes())];
  }

  private Extent.Kind kindOf(long grain, long e) throws CorruptImageException {
    long tag = e & TAG;
    if (tag == 0) {
      if (e != 0) {
        throw new CorruptImageException("bad vmdk: " + file() + ": SESparse grain " + grain + " entry 0x" + Long.toHexString(e)
            + " is unallocated but not zero");
      }
      return Extent.Kind.HOLE;
    }
    if (tag == UNMAPPED || tag == ZERO) {
      return Extent.Kind.ZERO;
    }
    if (tag == ALLOCATED) {
      return Extent.Kind.DATA;
    }
    throw new CorruptImageException("bad vmdk: " + file() + ": SESparse grain " + grain + " entry 0x" + Long.toHexString(e)
        + " has an unknown type");
  }

  /** Returns the file offset of an allocated grain, checked against the file size. */
  private long grainOffset(long grain, long e) throws CorruptImageException {
    long index = ((e & 0x0fff000000000000L) >>> 48) | ((e & 0x0000ffffffffffffL) << 12);
    long sector = header.grainsOffset() + index * header.grainSize();
    if (index < 0 || sector < 0 || sector > fileSize / SECTOR || grainBytes() > fileSize - sector * SECTOR) {
      throw new CorruptImageException("bad vmdk: " + file() + ": SESparse grain " + grain + " (index " + index
          + ") lies past end of file (size " + fileSize + ")");
    }
    return sector * SECTOR;
  }

  @Override
  Extent.Kind grainKind(long grain) throws IOException {
    long[] t = table((int) (grain / gtes()));
    return t == null ? null : kindOf(grain, t[(int) (grain % gtes())]);
  }

  @Override
  public void readData(long offset, ByteBuffer dst) throws IOException {
    eachGrain(offset, dst, (grain, in, part) -> {
      long pos = grainOffset(grain, entry(grain));
      ChannelIo.readFully(channel(), pos + in, part, file() + ": SESparse grain " + grain);
    });
  }

  /** Adds every problem of the directory and tables to {@code corruptions}. */
  void check(List<String> corruptions) throws IOException {
    long grains = (size() + grainBytes() - 1) / grainBytes();
    for (long g = 0; g < grains; g++) {
      try {
        long[] t = table((int) (g / gtes()));
        if (t == null) {
          g = (g / gtes() + 1) * gtes() - 1;
          continue;
        }
        long e = t[(int) (g % gtes())];
        if (kindOf(g, e) == Extent.Kind.DATA) {
          grainOffset(g, e);
        }
      } catch (CorruptImageException ex) {
        corruptions.add(ex.getMessage());
        if (corruptions.size() > 1000) {
          return;
        }
      }
    }
  }

  @Override
  public void write(long offset, ByteBuffer src, Underlay under) throws ReadOnlyDeviceException {
    throw new ReadOnlyDeviceException(file() + ": SESparse extents are read-only");
  }

  @Override
  public void zero(long offset, long length, boolean hasParent, Underlay under) throws ReadOnlyDeviceException {
    throw new ReadOnlyDeviceException(file() + ": SESparse extents are read-only");
  }

  @Override
  public void flush() {}
}
