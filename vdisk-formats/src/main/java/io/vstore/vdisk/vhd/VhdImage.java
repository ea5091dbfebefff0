package io.vstore.vdisk.vhd;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.ExtentList;
import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.ChannelImage;
import io.vstore.blockstore.Extent;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageInfo;
import io.vstore.vdisk.SectorRuns;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An open VHD file: fixed, dynamic or differencing. Guest bytes map to the file one to one inside
 * a block, so unaligned requests need no read-modify-write except for differencing disks, where a
 * partly written sector whose bitmap bit is clear is first filled from the parent.
 */
final class VhdImage extends ChannelImage {
  private static final int UNALLOCATED = -1;
  private static final int SECTOR = 512;

  private final VhdFooter footer;
  private final VhdDynamicHeader header; // null for fixed disks
  private final String parentPath;

  /** Guards the BAT, the bitmaps and the end of the file; data I/O to allocated blocks shares it. */
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  @GuardedBy("lock")
  private final int[] bat; // sector index of each block, or UNALLOCATED
  @GuardedBy("lock")
  private final BitSet dirtyBat = new BitSet(); // changed under the write lock
  @GuardedBy("lock")
  private final Map<Integer, byte[]> bitmaps = new HashMap<>(); // changed under the write lock; differencing only
  @GuardedBy("lock")
  private long nextFree; // changed under the write lock; where the next block goes (the footer's position)
  @GuardedBy("lock")
  private boolean footerDirty; // changed under the write lock

  VhdImage(Path path, FileChannel channel, boolean readOnly, VhdFooter footer, VhdDynamicHeader header,
      int[] bat, long nextFree, DiskImage parent, String parentPath) {
    super(VhdFormat.NAME, path, footer.virtualSize(), readOnly, parent, channel);
    this.footer = footer;
    this.header = header;
    this.bat = bat;
    this.nextFree = nextFree;
    this.parentPath = parentPath;
  }

  /** Returns the footer this handle was opened with. */
  VhdFooter footer() {
    return footer;
  }

  private boolean differencing() {
    return footer.diskType() == VhdFooter.DIFFERENCING;
  }

  @Override
  protected ImageInfo describe() throws IOException {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("uuid", footer.uuid().toString());
    details.put("creator", footer.creatorApp().replace('\0', ' ').strip());
    details.put("cylinders", footer.geometry().cylinders());
    details.put("heads", footer.geometry().heads());
    details.put("sectorsPerTrack", footer.geometry().sectorsPerTrack());
    details.put("currentSize", footer.currentSize());
    if (header != null) {
      details.put("maxTableEntries", header.maxTableEntries());
      if (differencing()) {
        details.put("parentUuid", header.parentUuid().toString());
        details.put("parentName", header.parentName());
      }
    }
    String sub = switch (footer.diskType()) {
      case VhdFooter.FIXED -> "fixed";
      case VhdFooter.DYNAMIC -> "dynamic";
      default -> "differencing";
    };
    return new ImageInfo(path().toString(), VhdFormat.NAME, sub, size(), channel.size(),
        header == null ? 0 : header.blockSize(), parentPath, List.of(path().toString()), details);
  }

  @Override
  protected void readRange(long offset, ByteBuffer dst) throws IOException {
    if (header == null) {
      FileContent.readOrZero(channel, offset, dst);
      return;
    }
    eachBlock(offset, dst, header.blockSize(), (block, inBlock, guest, part) -> readInBlock((int) block, inBlock, guest, part));
  }

  private void readInBlock(int block, long inBlock, long guestOffset, ByteBuffer part) throws IOException {
    if (!differencing()) {
      lock.readLock().lock();
      try {
        int sector = bat[block];
        if (sector == UNALLOCATED) {
          FileContent.zero(part);
        } else {
          FileContent.readOrZero(channel, dataOffset(sector) + inBlock, part);
        }
      } finally {
        lock.readLock().unlock();
      }
      return;
    }
    lock.writeLock().lock(); // the bitmap cache is filled lazily
    try {
      int sector = bat[block];
      if (sector == UNALLOCATED) {
        parent().read(guestOffset, part);
        return;
      }
      byte[] bitmap = bitmap(block);
      SectorRuns.each(inBlock, inBlock + part.remaining(), SECTOR, s -> bit(bitmap, (int) s), (from, to, present) -> {
        ByteBuffer run = part.slice(part.position() + (int) (from - inBlock), (int) (to - from));
        if (present) {
          FileContent.readOrZero(channel, dataOffset(sector) + from, run);
        } else {
          parent().read(guestOffset + (from - inBlock), run);
        }
      });
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  protected void writeRange(long offset, ByteBuffer src) throws IOException {
    if (header == null) {
      writeFully(offset, src);
      return;
    }
    eachBlock(offset, src, header.blockSize(), (block, inBlock, guest, part) -> {
      if (differencing()) {
        writeDifferencing((int) block, inBlock, guest, part);
      } else {
        writeDynamic((int) block, inBlock, part);
      }
    });
  }

  private void writeDynamic(int block, long inBlock, ByteBuffer part) throws IOException {
    lock.readLock().lock();
    try {
      int sector = bat[block];
      if (sector != UNALLOCATED) {
        writeFully(dataOffset(sector) + inBlock, part);
        return;
      }
    } finally {
      lock.readLock().unlock();
    }
    int sector;
    lock.writeLock().lock();
    try {
      sector = bat[block] == UNALLOCATED ? allocate(block) : bat[block];
      // Downgrade: the data write needs no exclusive access, only a BAT that does not move.
      lock.readLock().lock();
    } finally {
      lock.writeLock().unlock();
    }
    try {
      writeFully(dataOffset(sector) + inBlock, part);
    } finally {
      lock.readLock().unlock();
    }
  }

  private void writeDifferencing(int block, long inBlock, long guestOffset, ByteBuffer part) throws IOException {
    lock.writeLock().lock();
    try {
      int sector = bat[block] == UNALLOCATED ? allocate(block) : bat[block];
      byte[] bitmap = bitmap(block);
      long end = inBlock + part.remaining();
      int firstSector = (int) (inBlock / SECTOR);
      int lastSector = (int) ((end - 1) / SECTOR);
      // A sector the parent still provides must be completed from the parent before its bit is set.
      for (int s : new int[] {firstSector, lastSector}) {
        long sStart = (long) s * SECTOR;
        boolean partial = inBlock > sStart || end < sStart + SECTOR;
        if (partial && !bit(bitmap, s)) {
          ByteBuffer fill = ByteBuffer.allocate(SECTOR);
          parent().read(guestOffset - inBlock + sStart, fill);
          writeFully(dataOffset(sector) + sStart, fill.flip());
          setBit(bitmap, s);
        }
      }
      writeFully(dataOffset(sector) + inBlock, part);
      boolean changed = false;
      for (int s = firstSector; s <= lastSector; s++) {
        if (!bit(bitmap, s)) {
          setBit(bitmap, s);
          changed = true;
        }
      }
      if (changed) {
        writeBitmap(block, sector, bitmap);
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Appends a new block for {@code block}; the caller holds the write lock. */
  private int allocate(int block) throws IOException {
    assert lock.isWriteLockedByCurrentThread();
    long bitmapSize = header.bitmapSize();
    long at = nextFree;
    long blockEnd = at + bitmapSize + header.blockSize();
    if (blockEnd / SECTOR > 0xFFFF_FFFEL) {
      throw new io.vstore.blockstore.OutOfSpaceException(this + ": file would exceed the 2 TiB a VHD BAT can address");
    }
    // The footer moves first, so that an interrupted allocation still ends in a valid footer; the
    // block's bitmap then overwrites the old footer and the data area stays a sparse run of zeros.
    writeFully(blockEnd, footer.toBuffer());
    byte[] bitmap = new byte[(int) bitmapSize];
    if (!differencing()) {
      Arrays.fill(bitmap, (byte) 0xFF);
    } else {
      bitmaps.put(block, bitmap);
    }
    writeFully(at, ByteBuffer.wrap(bitmap));
    int sector = (int) (at / SECTOR);
    bat[block] = sector;
    dirtyBat.set(block);
    nextFree = blockEnd;
    footerDirty = true;
    return sector;
  }

  private byte[] bitmap(int block) throws IOException {
    assert lock.isWriteLockedByCurrentThread();
    byte[] b = bitmaps.get(block);
    if (b == null) {
      b = new byte[(int) header.bitmapSize()];
      FileContent.readOrZero(channel, (long) Integer.toUnsignedLong(bat[block]) * SECTOR, ByteBuffer.wrap(b));
      bitmaps.put(block, b);
    }
    return b;
  }

  private void writeBitmap(int block, int sector, byte[] bitmap) throws IOException {
    writeFully(Integer.toUnsignedLong(sector) * SECTOR, ByteBuffer.wrap(bitmap));
  }

  private long dataOffset(int sector) {
    return Integer.toUnsignedLong(sector) * SECTOR + header.bitmapSize();
  }

  private static boolean bit(byte[] bitmap, int sector) {
    return (bitmap[sector >>> 3] & (0x80 >>> (sector & 7))) != 0;
  }

  private static void setBit(byte[] bitmap, int sector) {
    bitmap[sector >>> 3] |= (byte) (0x80 >>> (sector & 7));
  }

  @Override
  protected void zeroRange(long offset, long length, boolean mayUnmap) throws IOException {
    long blockSize = header == null ? 1 << 20 : header.blockSize();
    eachBlock(offset, length, blockSize, (block, inBlock, pos, n) -> {
      if (header != null && n == blockSize && mayUnmap && (!differencing() || parentReadsZeros(pos, n))) {
        unmap((int) block);
      } else if (header != null && !differencing() && isUnallocated((int) block)) {
        // Already reads as zeros.
      } else {
        writeZerosThrough(pos, n);
      }
    });
  }

  private boolean parentReadsZeros(long offset, long length) throws IOException {
    return parent().allocation(offset, length).stream().allMatch(e -> e.kind().readsAsZeros());
  }

  private boolean isUnallocated(int block) {
    lock.readLock().lock();
    try {
      return bat[block] == UNALLOCATED;
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Drops a whole block from the BAT. The space stays in the file (VHD cannot free the middle of a
   * file) unless the block is the last one, which is cut off; check reports the rest as leaks.
   */
  private void unmap(int block) throws IOException {
    lock.writeLock().lock();
    try {
      int sector = bat[block];
      if (sector == UNALLOCATED) {
        return;
      }
      bat[block] = UNALLOCATED;
      dirtyBat.set(block);
      long start = Integer.toUnsignedLong(sector) * SECTOR;
      if (start + header.bitmapSize() + header.blockSize() == nextFree) {
        // Write the BAT now: the block's space is about to be reused for the footer.
        writeBat();
        sync(channel);
        nextFree = start;
        writeFully(start, footer.toBuffer());
        channel.truncate(start + VhdFooter.SIZE);
        footerDirty = false;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  protected List<Extent> allocationRange(long offset, long length) throws IOException {
    ExtentList out = new ExtentList();
    if (header == null) {
      FileContent.describeByContent(channel, offset, offset, length, out);
      return out.toList();
    }
    eachBlock(offset, length, header.blockSize(), (b, inBlock, pos, n) -> {
      int block = (int) b;
      int sector;
      byte[] bitmap = null;
      lock.writeLock().lock();
      try {
        sector = bat[block];
        if (sector != UNALLOCATED && differencing()) {
          bitmap = bitmap(block).clone();
        }
      } finally {
        lock.writeLock().unlock();
      }
      if (sector == UNALLOCATED) {
        addUnallocated(out, pos, n);
      } else if (bitmap == null) {
        out.add(pos, n, Extent.Kind.DATA);
      } else {
        byte[] bits = bitmap;
        addSectorRuns(out, pos - inBlock, inBlock, inBlock + n, SECTOR, s -> bit(bits, (int) s));
      }
    });
    return out.toList();
  }

  /** Makes data durable before the BAT that points at it, then the BAT and footer. */
  @Override
  protected void flushFiles() throws IOException {
    lock.writeLock().lock();
    try {
      if (dirtyBat.isEmpty() && !footerDirty) {
        sync(channel);
        return;
      }
      sync(channel);
      writeBat();
      if (footerDirty) {
        writeFully(nextFree, footer.toBuffer());
        footerDirty = false;
      }
      sync(channel);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Writes the BAT sectors that hold changed entries, one write per run of changed sectors. */
  private void writeBat() throws IOException {
    if (dirtyBat.isEmpty()) {
      return;
    }
    int perSector = SECTOR / 4;
    int first = dirtyBat.nextSetBit(0) / perSector;
    int last = dirtyBat.previousSetBit(dirtyBat.length()) / perSector;
    int entries = Math.min(bat.length - first * perSector, (last - first + 1) * perSector);
    ByteBuffer buf = ByteBuffer.allocate((last - first + 1) * SECTOR).order(ByteOrder.BIG_ENDIAN);
    for (int i = 0; i < entries; i++) {
      buf.putInt(bat[first * perSector + i]);
    }
    while (buf.hasRemaining()) {
      buf.putInt(UNALLOCATED);
    }
    writeFully(header.tableOffset() + (long) first * SECTOR, buf.flip());
    dirtyBat.clear();
  }
}
