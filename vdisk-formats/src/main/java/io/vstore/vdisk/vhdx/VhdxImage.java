package io.vstore.vdisk.vhdx;

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
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An open VHDX file. Payload blocks map guest bytes to the file one to one, so unaligned requests
 * need no read-modify-write except in differencing disks, where a partly written logical sector
 * the parent still provides is first completed from the parent.
 */
final class VhdxImage extends ChannelImage {
  static final int NOT_PRESENT = 0;
  static final int UNDEFINED = 1;
  static final int ZERO = 2;
  static final int UNMAPPED = 5;
  static final int FULLY_PRESENT = 6;
  static final int PARTIALLY_PRESENT = 7;
  static final int SB_PRESENT = 6;
  static final long OFFSET_MASK = 0xFFFF_FFFF_FFF0_0000L;
  static final long MIB = 1 << 20;

  private final VhdxMetadata metadata;
  private final long batOffset;
  private final long chunkRatio;
  private final String parentPath;
  private final long blockSize;
  private final int sectorSize;

  /** Guards the BAT, bitmaps, headers and the end of file; data I/O to present blocks shares it. */
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  @GuardedBy("lock")
  private final long[] bat;
  @GuardedBy("lock")
  private final BitSet dirtyBat = new BitSet(); // changed under the write lock
  @GuardedBy("lock")
  private final Map<Long, byte[]> bitmaps = new HashMap<>(); // changed under the write lock; chunk -> bitmap
  @GuardedBy("lock")
  private final BitSet dirtyBitmaps = new BitSet(); // changed under the write lock
  @GuardedBy("lock")
  private VhdxHeader header; // changed under the write lock
  private final int headerSlot; // 0 or 1: header updates write the other slot first, then this one
  @GuardedBy("lock")
  private boolean guidsUpdated; // changed under the write lock
  @GuardedBy("lock")
  private long nextFree; // changed under the write lock

  VhdxImage(Path path, FileChannel channel, boolean readOnly, VhdxHeader header, int headerSlot, VhdxMetadata metadata,
      long batOffset, long[] bat, long nextFree, DiskImage parent, String parentPath) {
    super(VhdxFormat.NAME, path, metadata.virtualSize(), readOnly, parent, channel);
    this.header = header;
    this.headerSlot = headerSlot;
    this.metadata = metadata;
    this.batOffset = batOffset;
    this.bat = bat;
    this.nextFree = nextFree;
    this.parentPath = parentPath;
    this.blockSize = metadata.blockSize();
    this.sectorSize = metadata.logicalSectorSize();
    this.chunkRatio = chunkRatio(metadata);
  }

  /** Returns how many payload blocks share one sector bitmap block. */
  static long chunkRatio(VhdxMetadata m) {
    return (1L << 23) * m.logicalSectorSize() / m.blockSize();
  }

  /** Returns the BAT index of payload block {@code block}: a bitmap entry follows every chunk. */
  long payloadIndex(long block) {
    return block + block / chunkRatio;
  }

  /** Returns the BAT index of the sector bitmap block of chunk {@code chunk}. */
  long bitmapIndex(long chunk) {
    return chunk * (chunkRatio + 1) + chunkRatio;
  }

  /** Returns the data write GUID, which a child's parent linkage names. */
  UUID dataWriteGuid() {
    lock.readLock().lock();
    try {
      return header.dataWriteGuid();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  protected ImageInfo describe() throws IOException {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("logicalSectorSize", metadata.logicalSectorSize());
    details.put("physicalSectorSize", metadata.physicalSectorSize());
    details.put("diskId", metadata.diskId().toString());
    details.put("dataWriteGuid", dataWriteGuid().toString());
    if (metadata.hasParent()) {
      details.put("parentLocator", metadata.parentLocator());
    }
    String sub = metadata.hasParent() ? "differencing" : metadata.leaveBlocksAllocated() ? "fixed" : "dynamic";
    return new ImageInfo(path().toString(), VhdxFormat.NAME, sub, size(), channel.size(), blockSize, parentPath,
        List.of(path().toString()), details);
  }

  private static int state(long entry) {
    return (int) (entry & 7);
  }

  private static long offset(long entry) {
    return entry & OFFSET_MASK;
  }

  @Override
  protected void readRange(long offset, ByteBuffer dst) throws IOException {
    eachBlock(offset, dst, blockSize, this::readInBlock);
  }

  private void readInBlock(long block, long inBlock, long guestOffset, ByteBuffer part) throws IOException {
    long entry;
    lock.readLock().lock();
    try {
      entry = bat[(int) payloadIndex(block)];
      if (state(entry) == FULLY_PRESENT) {
        FileContent.readOrZero(channel, offset(entry) + inBlock, part);
        return;
      }
    } finally {
      lock.readLock().unlock();
    }
    int state = state(entry);
    if (state == NOT_PRESENT && parent() != null) {
      parent().read(guestOffset, part);
    } else if (state != PARTIALLY_PRESENT) {
      FileContent.zero(part);
    } else {
      lock.writeLock().lock(); // the bitmap cache fills lazily
      try {
        byte[] bitmap = bitmap(block / chunkRatio);
        long firstSector = (block % chunkRatio) * (blockSize / sectorSize);
        SectorRuns.each(inBlock, inBlock + part.remaining(), sectorSize, s -> bit(bitmap, firstSector + s),
            (from, to, present) -> {
              ByteBuffer run = part.slice(part.position() + (int) (from - inBlock), (int) (to - from));
              if (present) {
                FileContent.readOrZero(channel, offset(bat[(int) payloadIndex(block)]) + from, run);
              } else {
                parent().read(guestOffset + from - inBlock, run);
              }
            });
      } finally {
        lock.writeLock().unlock();
      }
    }
  }

  @Override
  protected void writeRange(long offset, ByteBuffer src) throws IOException {
    eachBlock(offset, src, blockSize, this::writeInBlock);
  }

  private void writeInBlock(long block, long inBlock, long guestOffset, ByteBuffer part) throws IOException {
    int index = (int) payloadIndex(block);
    lock.readLock().lock();
    try {
      long entry = bat[index];
      if (state(entry) == FULLY_PRESENT && guidsUpdated) {
        writeFully(offset(entry) + inBlock, part);
        return;
      }
    } finally {
      lock.readLock().unlock();
    }
    lock.writeLock().lock();
    boolean downgraded = false;
    try {
      updateGuids();
      long entry = bat[index];
      int state = state(entry);
      if (state == FULLY_PRESENT) {
        // fall through to the data write below
      } else if (parent() != null && (state == NOT_PRESENT || state == PARTIALLY_PRESENT)) {
        writePartial(block, inBlock, guestOffset, part);
        return;
      } else {
        // Every other state reads as zeros, and a block appended past the end of the file does too.
        entry = allocate(block, FULLY_PRESENT);
      }
      lock.readLock().lock();
      downgraded = true;
      lock.writeLock().unlock();
      writeFully(offset(entry) + inBlock, part);
    } finally {
      if (downgraded) {
        lock.readLock().unlock();
      } else {
        lock.writeLock().unlock();
      }
    }
  }

  /** Writes into a block of a differencing disk whose sectors may come from the parent. */
  private void writePartial(long block, long inBlock, long guestOffset, ByteBuffer part) throws IOException {
    assert lock.isWriteLockedByCurrentThread();
    int index = (int) payloadIndex(block);
    long chunk = block / chunkRatio;
    byte[] bitmap = bitmap(chunk);
    long entry = bat[index];
    if (state(entry) == NOT_PRESENT) {
      entry = allocate(block, PARTIALLY_PRESENT);
    }
    long firstSector = (block % chunkRatio) * (blockSize / sectorSize);
    long end = inBlock + part.remaining();
    long s0 = inBlock / sectorSize;
    long s1 = (end - 1) / sectorSize;
    for (long s : new long[] {s0, s1}) {
      long sStart = s * sectorSize;
      boolean partial = inBlock > sStart || end < sStart + sectorSize;
      if (partial && !bit(bitmap, firstSector + s)) {
        ByteBuffer fill = ByteBuffer.allocate(sectorSize);
        parent().read(guestOffset - inBlock + sStart, fill);
        writeFully(offset(entry) + sStart, fill.flip());
        setBit(bitmap, firstSector + s);
      }
    }
    writeFully(offset(entry) + inBlock, part);
    for (long s = s0; s <= s1; s++) {
      setBit(bitmap, firstSector + s);
    }
    dirtyBitmaps.set((int) chunk);
  }

  /** Appends a payload block for {@code block} in {@code state}; returns its new BAT entry. */
  private long allocate(long block, int state) throws IOException {
    assert lock.isWriteLockedByCurrentThread();
    long at = nextFree;
    nextFree += blockSize;
    extendTo(nextFree);
    long entry = at | state;
    bat[(int) payloadIndex(block)] = entry;
    dirtyBat.set((int) payloadIndex(block));
    return entry;
  }

  /**
   * Grows the file to {@code end} with one byte at its last position, once per new block: the
   * block's own writes then land inside the file and do not each extend it, which on journaling
   * file systems costs a metadata transaction per write. The block reads zeros where unwritten.
   */
  private void extendTo(long end) throws IOException {
    assert lock.isWriteLockedByCurrentThread();
    writeFully(end - 1, ByteBuffer.allocate(1));
  }

  /** Returns the sector bitmap of {@code chunk}, creating its block when the chunk has none. */
  private byte[] bitmap(long chunk) throws IOException {
    assert lock.isWriteLockedByCurrentThread();
    byte[] b = bitmaps.get(chunk);
    if (b != null) {
      return b;
    }
    b = new byte[(int) MIB];
    int index = (int) bitmapIndex(chunk);
    long entry = index < bat.length ? bat[index] : 0;
    if (state(entry) == SB_PRESENT) {
      FileContent.readOrZero(channel, offset(entry), ByteBuffer.wrap(b));
    } else if (!isReadOnly()) {
      bat[index] = nextFree | SB_PRESENT;
      nextFree += MIB;
      extendTo(nextFree);
      dirtyBat.set(index);
      dirtyBitmaps.set((int) chunk);
    }
    bitmaps.put(chunk, b);
    return b;
  }

  private static boolean bit(byte[] bitmap, long sector) {
    return (bitmap[(int) (sector >>> 3)] & (1 << (sector & 7))) != 0;
  }

  private static void setBit(byte[] bitmap, long sector) {
    bitmap[(int) (sector >>> 3)] |= (byte) (1 << (sector & 7));
  }

  /**
   * Gives the file new write GUIDs before its first change in this session, as the format asks,
   * writing the non-current header first so that one valid header always exists.
   */
  private void updateGuids() throws IOException {
    assert lock.isWriteLockedByCurrentThread();
    if (guidsUpdated) {
      return;
    }
    writeHeaders(header.logGuid());
    guidsUpdated = true;
  }

  private void writeHeaders(UUID logGuid) throws IOException {
    header = VhdxHeader.writeBoth(channel, header, headerSlot, logGuid);
  }

  @Override
  protected void zeroRange(long offset, long length, boolean mayUnmap) throws IOException {
    eachBlock(offset, length, blockSize, (block, inBlock, pos, n) -> {
      if (n == blockSize && !metadata.leaveBlocksAllocated()) {
        lock.writeLock().lock();
        try {
          updateGuids();
          int index = (int) payloadIndex(block);
          if (state(bat[index]) != ZERO) {
            // The block's space stays in the file unreferenced: VHDX cannot shrink the middle of a
            // file, and the ZERO state reads zeros with or without a parent.
            bat[index] = ZERO;
            dirtyBat.set(index);
          }
        } finally {
          lock.writeLock().unlock();
        }
      } else if (parent() == null && readsZeros(block)) {
        // Nothing to do: the block reads zeros already.
      } else {
        writeZerosThrough(pos, n);
      }
    });
  }

  private boolean readsZeros(long block) {
    lock.readLock().lock();
    try {
      int s = state(bat[(int) payloadIndex(block)]);
      return s != FULLY_PRESENT && s != PARTIALLY_PRESENT;
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  protected List<Extent> allocationRange(long offset, long length) throws IOException {
    ExtentList out = new ExtentList();
    eachBlock(offset, length, blockSize, (block, inBlock, pos, n) -> {
      lock.writeLock().lock();
      try {
        long entry = bat[(int) payloadIndex(block)];
        switch (state(entry)) {
          case FULLY_PRESENT -> {
            if (metadata.leaveBlocksAllocated()) {
              FileContent.describeByContent(channel, offset(entry) + inBlock, pos, n, out);
            } else {
              out.add(pos, n, Extent.Kind.DATA);
            }
          }
          case ZERO -> out.add(pos, n, Extent.Kind.ZERO);
          case PARTIALLY_PRESENT -> {
            byte[] bits = bitmap(block / chunkRatio);
            long firstSector = (block % chunkRatio) * (blockSize / sectorSize);
            addSectorRuns(out, pos - inBlock, inBlock, inBlock + n, sectorSize, s -> bit(bits, firstSector + s));
          }
          case NOT_PRESENT -> addUnallocated(out, pos, n);
          default -> out.add(pos, n, Extent.Kind.HOLE);
        }
      } finally {
        lock.writeLock().unlock();
      }
    });
    return out.toList();
  }

  /**
   * Makes payload data durable before the bitmaps and BAT entries that expose it: an interrupted
   * write leaves either the old BAT (new blocks unreferenced) or the new one over durable data.
   */
  @Override
  protected void flushFiles() throws IOException {
    lock.writeLock().lock();
    try {
      if (dirtyBat.isEmpty() && dirtyBitmaps.isEmpty()) {
        sync(channel);
        return;
      }
      if (channel.size() < nextFree) {
        // Extend the file over every block a BAT entry will point at, so none lies past the end.
        writeFully(nextFree - 1, ByteBuffer.allocate(1));
      }
      sync(channel);
      for (int c = dirtyBitmaps.nextSetBit(0); c >= 0; c = dirtyBitmaps.nextSetBit(c + 1)) {
        long entry = bat[(int) bitmapIndex(c)];
        writeFully(offset(entry), ByteBuffer.wrap(bitmaps.get((long) c)));
      }
      dirtyBitmaps.clear();
      if (!dirtyBat.isEmpty()) {
        int first = dirtyBat.nextSetBit(0);
        int last = dirtyBat.previousSetBit(dirtyBat.length());
        // One write per 4 KiB-aligned span keeps the update to whole sectors.
        int perSector = 4096 / 8;
        int from = first / perSector * perSector;
        int to = Math.min(bat.length, (last / perSector + 1) * perSector);
        ByteBuffer buf = ByteBuffer.allocate((to - from) * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
          buf.putLong(bat[i]);
        }
        writeFully(batOffset + (long) from * 8, buf.flip());
        dirtyBat.clear();
      }
      sync(channel);
    } finally {
      lock.writeLock().unlock();
    }
  }
}
