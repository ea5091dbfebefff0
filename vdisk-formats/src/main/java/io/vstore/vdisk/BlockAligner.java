package io.vstore.vdisk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Turns byte-granular reads and writes into whole-block ones for formats that store fixed-size
 * blocks (sectors, grains, clusters), so every format honours the byte-granular {@code BlockDevice}
 * contract. Partial blocks are read, merged and written back under a per-block lock, so concurrent
 * writers to different bytes of one block both land.
 */
public final class BlockAligner {

  /** The block-granular operations of a format. */
  public interface Blocks {
    /**
     * Reads {@code dst.remaining()} bytes at {@code offset}; the offset is block-aligned and the
     * length a whole number of blocks, except that the last block of the device may be short.
     */
    void readBlocks(long offset, ByteBuffer dst) throws IOException;

    /** Writes {@code src.remaining()} bytes at {@code offset}, aligned as for {@link #readBlocks}. */
    void writeBlocks(long offset, ByteBuffer src) throws IOException;
  }

  private static final int STRIPES = 64;

  private final int blockSize;
  private final long size;
  private final Blocks blocks;
  private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];

  /** Creates an aligner for a device of {@code size} bytes stored in blocks of {@code blockSize} bytes. */
  public BlockAligner(int blockSize, long size, Blocks blocks) {
    if (blockSize <= 0 || Integer.bitCount(blockSize) != 1) {
      throw new IllegalArgumentException("block size must be a power of two: " + blockSize);
    }
    this.blockSize = blockSize;
    this.size = size;
    this.blocks = blocks;
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new ReentrantLock();
    }
  }

  /** Reads {@code dst.remaining()} bytes at any {@code offset} (the caller has range-checked it). */
  public void read(long offset, ByteBuffer dst) throws IOException {
    long pos = offset;
    while (dst.hasRemaining()) {
      long blockStart = pos & -blockSize;
      int inBlock = (int) (pos - blockStart);
      if (inBlock == 0 && dst.remaining() >= blockSize) {
        int n = (int) Math.min(dst.remaining() & -blockSize, Integer.MAX_VALUE & -blockSize);
        ByteBuffer part = dst.slice(dst.position(), n);
        blocks.readBlocks(pos, part);
        dst.position(dst.position() + n);
        pos += n;
        continue;
      }
      int blockLen = (int) Math.min(blockSize, size - blockStart);
      ByteBuffer tmp = ByteBuffer.allocate(blockLen);
      blocks.readBlocks(blockStart, tmp);
      int n = Math.min(dst.remaining(), blockLen - inBlock);
      dst.put(tmp.array(), inBlock, n);
      pos += n;
    }
  }

  /** Writes {@code src.remaining()} bytes at any {@code offset} (the caller has range-checked it). */
  public void write(long offset, ByteBuffer src) throws IOException {
    long pos = offset;
    while (src.hasRemaining()) {
      long blockStart = pos & -blockSize;
      int inBlock = (int) (pos - blockStart);
      int blockLen = (int) Math.min(blockSize, size - blockStart);
      if (inBlock == 0 && src.remaining() >= blockLen) {
        // Whole blocks: written as they are, still under the blocks' locks so a concurrent
        // read-modify-write of one of them cannot put stale bytes back over this write.
        long whole = src.remaining() >= blockSize ? src.remaining() & -blockSize : blockLen;
        int n = (int) Math.min(whole, 1 << 24);
        ReentrantLock[] held = lockRange(pos, n);
        try {
          blocks.writeBlocks(pos, src.slice(src.position(), n));
        } finally {
          unlock(held);
        }
        src.position(src.position() + n);
        pos += n;
        continue;
      }
      int n = Math.min(src.remaining(), blockLen - inBlock);
      ReentrantLock lock = stripes[(int) Math.floorMod(blockStart / blockSize, (long) STRIPES)];
      lock.lock();
      try {
        ByteBuffer tmp = ByteBuffer.allocate(blockLen);
        blocks.readBlocks(blockStart, tmp);
        tmp.clear();
        tmp.put(inBlock, src, src.position(), n);
        blocks.writeBlocks(blockStart, tmp);
      } finally {
        lock.unlock();
      }
      src.position(src.position() + n);
      pos += n;
    }
  }

  private ReentrantLock[] lockRange(long pos, int length) {
    long first = pos / blockSize;
    long last = (pos + length - 1) / blockSize;
    ReentrantLock[] held;
    if (last - first + 1 >= STRIPES) {
      held = stripes.clone();
    } else {
      // Always in ascending stripe order, so two writers never wait on each other in a cycle.
      boolean[] want = new boolean[STRIPES];
      int count = 0;
      for (long b = first; b <= last; b++) {
        int s = (int) Math.floorMod(b, (long) STRIPES);
        if (!want[s]) {
          want[s] = true;
          count++;
        }
      }
      held = new ReentrantLock[count];
      int i = 0;
      for (int s = 0; s < STRIPES; s++) {
        if (want[s]) {
          held[i++] = stripes[s];
        }
      }
    }
    for (ReentrantLock l : held) {
      l.lock();
    }
    return held;
  }

  private static void unlock(ReentrantLock[] held) {
    for (int i = held.length - 1; i >= 0; i--) {
      held[i].unlock();
    }
  }
}
