package io.vstore.vdisk;

import io.vstore.blockstore.StripedLocks;
import java.io.IOException;
import java.nio.ByteBuffer;

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

  private final int blockSize;
  private final long size;
  private final Blocks blocks;
  private final StripedLocks stripes = new StripedLocks(1);

  /** Creates an aligner for a device of {@code size} bytes stored in blocks of {@code blockSize} bytes. */
  public BlockAligner(int blockSize, long size, Blocks blocks) {
    if (blockSize <= 0 || Integer.bitCount(blockSize) != 1) {
      throw new IllegalArgumentException("block size must be a power of two: " + blockSize);
    }
    this.blockSize = blockSize;
    this.size = size;
    this.blocks = blocks;
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
        long held = stripes.lock(pos / blockSize, (pos + n - 1) / blockSize + 1);
        try {
          blocks.writeBlocks(pos, src.slice(src.position(), n));
        } finally {
          stripes.unlock(held);
        }
        src.position(src.position() + n);
        pos += n;
        continue;
      }
      int n = Math.min(src.remaining(), blockLen - inBlock);
      long held = stripes.lock(blockStart / blockSize, blockStart / blockSize + 1);
      try {
        ByteBuffer tmp = ByteBuffer.allocate(blockLen);
        blocks.readBlocks(blockStart, tmp);
        tmp.clear();
        tmp.put(inBlock, src, src.position(), n);
        blocks.writeBlocks(blockStart, tmp);
      } finally {
        stripes.unlock(held);
      }
      src.position(src.position() + n);
      pos += n;
    }
  }

}
