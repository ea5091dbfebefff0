package io.vstore.vdisk.vdi;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.ExtentList;
import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.ChannelImage;
import io.vstore.blockstore.Extent;
import io.vstore.vdisk.ImageInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An open VDI file. Blocks are 1 MiB and map guest bytes one to one, so unaligned requests need no
 * read-modify-write; a newly allocated block is written whole (zeros around the new bytes) because
 * its space may hold the leftovers of an interrupted earlier allocation.
 */
final class VdiImage extends ChannelImage {
  /** Block map entry of a block never written. */
  static final int FREE = -1;
  /** Block map entry of a block discarded: reads zeros. */
  static final int ZERO = -2;

  private final long blockSize;

  /** Guards the block map and the header; data I/O to allocated blocks shares it. */
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  @GuardedBy("lock")
  private final int[] map;
  @GuardedBy("lock")
  private final int[] owner; // for each allocated block index, the entry using it
  @GuardedBy("lock")
  private final BitSet dirty = new BitSet(); // changed under the write lock
  @GuardedBy("lock")
  private VdiHeader header;
  @GuardedBy("lock")
  private boolean headerDirty; // changed under the write lock

  VdiImage(Path path, FileChannel channel, boolean readOnly, VdiHeader header, int[] map) {
    super(VdiFormat.NAME, path, header.diskSize(), readOnly, null, channel);
    this.header = header;
    this.map = map;
    this.blockSize = header.blockSize();
    this.owner = new int[map.length];
    java.util.Arrays.fill(owner, -1);
    for (int i = 0; i < map.length; i++) {
      if (map[i] != FREE && map[i] != ZERO) {
        owner[map[i]] = i;
      }
    }
  }

  @Override
  protected ImageInfo describe() throws IOException {
    Map<String, Object> details = new LinkedHashMap<>();
    lock.readLock().lock();
    try {
      details.put("blocksAllocated", header.blocksAllocated());
      details.put("uuid", header.created().toString());
      details.put("banner", header.banner().strip());
    } finally {
      lock.readLock().unlock();
    }
    String sub = header.imageType() == VdiHeader.FIXED ? "fixed" : "dynamic";
    return new ImageInfo(path().toString(), VdiFormat.NAME, sub, size(), channel.size(), blockSize, null,
        List.of(path().toString()), details);
  }

  private long blockOffset(int index) {
    return header.dataOffset() + Integer.toUnsignedLong(index) * (blockSize + header.blockExtra()) + header.blockExtra();
  }

  @Override
  protected void readRange(long offset, ByteBuffer dst) throws IOException {
    eachBlock(offset, dst, blockSize, (block, in, guest, part) -> {
      lock.readLock().lock();
      try {
        int e = map[(int) block];
        if (e == FREE || e == ZERO) {
          FileContent.zero(part);
        } else {
          FileContent.readOrZero(channel, blockOffset(e) + in, part);
        }
      } finally {
        lock.readLock().unlock();
      }
    });
  }

  @Override
  protected void writeRange(long offset, ByteBuffer src) throws IOException {
    eachBlock(offset, src, blockSize, (block, in, guest, part) -> writeInBlock((int) block, in, part));
  }

  private void writeInBlock(int block, long in, ByteBuffer part) throws IOException {
    lock.readLock().lock();
    try {
      int e = map[block];
      if (e != FREE && e != ZERO) {
        writeFully(blockOffset(e) + in, part);
        return;
      }
    } finally {
      lock.readLock().unlock();
    }
    lock.writeLock().lock();
    try {
      int e = map[block];
      if (e != FREE && e != ZERO) {
        writeFully(blockOffset(e) + in, part);
        return;
      }
      long index = header.blocksAllocated();
      if (index >= header.blocks()) {
        throw new io.vstore.blockstore.OutOfSpaceException(this + ": all " + header.blocks() + " blocks are allocated");
      }
      ByteBuffer whole;
      if (in == 0 && part.remaining() == blockSize) {
        whole = part;
      } else {
        whole = ByteBuffer.allocate((int) blockSize);
        whole.put((int) in, part, part.position(), part.remaining());
      }
      writeFully(blockOffset((int) index), whole);
      map[block] = (int) index;
      owner[(int) index] = block;
      dirty.set(block);
      header = header.withBlocksAllocated(index + 1);
      headerDirty = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  protected void zeroRange(long offset, long length, boolean mayUnmap) throws IOException {
    eachBlock(offset, length, blockSize, (block, in, pos, n) -> {
      if (n == blockSize && header.imageType() != VdiHeader.FIXED) {
        release((int) block);
      } else if (!readsZeros((int) block)) {
        writeZerosThrough(pos, n);
      }
    });
  }

  /**
   * Marks a whole block as discarded. VDI readers (qemu among them) expect the allocated blocks to
   * be exactly the first {@code blocksAllocated} of the data area, so the last block moves into
   * the freed slot; until the next flush the on-disk map still points at the last block's old
   * place, which stays intact.
   */
  private void release(int block) throws IOException {
    lock.writeLock().lock();
    try {
      int index = map[block];
      if (index == FREE || index == ZERO) {
        return;
      }
      int last = (int) header.blocksAllocated() - 1;
      if (index != last) {
        ByteBuffer buf = ByteBuffer.allocate((int) blockSize);
        FileContent.readOrZero(channel, blockOffset(last), buf);
        writeFully(blockOffset(index), buf.flip());
        int moved = owner[last];
        map[moved] = index;
        owner[index] = moved;
        dirty.set(moved);
      }
      owner[last] = -1;
      map[block] = ZERO;
      dirty.set(block);
      header = header.withBlocksAllocated(last);
      headerDirty = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  private boolean readsZeros(int block) {
    lock.readLock().lock();
    try {
      return map[block] == FREE || map[block] == ZERO;
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  protected List<Extent> allocationRange(long offset, long length) throws IOException {
    ExtentList out = new ExtentList();
    lock.readLock().lock();
    try {
      eachBlock(offset, length, blockSize, (block, inBlock, pos, n) -> {
        int e = map[(int) block];
        if (e != FREE && e != ZERO && header.imageType() == VdiHeader.FIXED) {
          // Every block of a fixed image stays allocated: zero runs show as ZERO so copies skip them.
          FileContent.describeByContent(channel, blockOffset(e) + inBlock, pos, n, out);
        } else {
          out.add(pos, n, e == FREE ? Extent.Kind.HOLE : e == ZERO ? Extent.Kind.ZERO : Extent.Kind.DATA);
        }
      });
    } finally {
      lock.readLock().unlock();
    }
    return out.toList();
  }


  @Override
  protected void flushFiles() throws IOException {
    lock.writeLock().lock();
    try {
      sync(channel);
      if (dirty.isEmpty() && !headerDirty) {
        return;
      }
      // Data first, then the block map, then the header's count: an interruption between the last
      // two leaves a count mismatch that check reports (as qemu-img check does).
      if (!dirty.isEmpty()) {
        int perSector = 512 / 4;
        int from = dirty.nextSetBit(0) / perSector * perSector;
        int to = Math.min(map.length, (dirty.previousSetBit(dirty.length()) / perSector + 1) * perSector);
        ByteBuffer buf = ByteBuffer.allocate((to - from) * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
          buf.putInt(map[i]);
        }
        writeFully(header.blockMapOffset() + (long) from * 4, buf.flip());
        dirty.clear();
      }
      if (headerDirty) {
        writeFully(0, header.toBuffer());
        headerDirty = false;
      }
      sync(channel);
    } finally {
      lock.writeLock().unlock();
    }
  }
}
