package io.vstore.ovf.pkg;

import io.vstore.blockstore.BlockDevice;
import io.vstore.vdisk.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The zero grains of a streamOptimized delta read as a stream. A grain table entry 1 (with the
 * header's zero-grain flag) says "this grain is zeros", which over a parent hides the parent's data.
 * A table's marker does not say which grains it maps; the grain directory, which follows every
 * table, does. So each table's zero entries are kept as a bitmap, keyed by the table's first
 * sector, and written as zeros once the directory names the table's place: at most one bitmap of
 * {@code gtes} bits per table, 64 bytes per 32 MiB of disk with VMware's 512-entry tables.
 */
final class ZeroGrainTables {
  private static final int SECTOR = 512;
  private final String name;
  private final int gtes;
  private final long grains;
  private final long grainBytes;
  private final long capacity;
  private final Map<Long, BitSet> bySector = new HashMap<>();
  private final byte[] sector = new byte[SECTOR];

  ZeroGrainTables(String name, int gtes, long grains, long grainBytes, long capacity) {
    this.name = name;
    this.gtes = gtes;
    this.grains = grains;
    this.grainBytes = grainBytes;
    this.capacity = capacity;
  }

  /** Reads a grain table of {@code sectors} sectors starting at sector {@code first}, keeping its zero entries. */
  void read(StreamOptimizedReader.Input input, long first, long sectors) throws IOException {
    BitSet zeros = null;
    ByteBuffer b = ByteBuffer.wrap(sector).order(ByteOrder.LITTLE_ENDIAN);
    for (long s = 0; s < sectors; s++) {
      input.readFully(sector, SECTOR);
      for (int i = 0; i < SECTOR / 4; i++) {
        long entry = s * (SECTOR / 4) + i;
        if (entry < gtes && b.getInt(i * 4) == 1) {
          if (zeros == null) {
            zeros = new BitSet(gtes);
          }
          zeros.set((int) entry);
        }
      }
    }
    if (zeros != null) {
      bySector.put(first, zeros);
    }
  }

  /**
   * Reads the grain directory of {@code sectors} sectors and writes the zero grains of the tables it
   * names into {@code target} as zeros.
   */
  void applyDirectory(StreamOptimizedReader.Input input, long sectors, BlockDevice target) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(sector).order(ByteOrder.LITTLE_ENDIAN);
    long runStart = -1;
    long runEnd = -1;
    for (long s = 0; s < sectors; s++) {
      input.readFully(sector, SECTOR);
      for (int i = 0; i < SECTOR / 4; i++) {
        long table = s * (SECTOR / 4) + i;
        long at = Integer.toUnsignedLong(b.getInt(i * 4));
        BitSet zeros = at == 0 ? null : bySector.remove(at);
        if (zeros == null) {
          continue;
        }
        for (int j = zeros.nextSetBit(0); j >= 0; j = zeros.nextSetBit(j + 1)) {
          long grain = table * gtes + j;
          if (grain >= grains) {
            throw new CorruptImageException("bad vmdk: " + name + ": zero grain " + grain + " in grain table " + table
                + " lies beyond the disk's " + grains + " grains");
          }
          if (grain == runEnd) {
            runEnd++;
          } else {
            zero(target, runStart, runEnd);
            runStart = grain;
            runEnd = grain + 1;
          }
        }
      }
    }
    zero(target, runStart, runEnd);
    bySector.clear();
  }

  private void zero(BlockDevice target, long fromGrain, long toGrain) throws IOException {
    if (fromGrain < 0) {
      return;
    }
    long offset = fromGrain * grainBytes;
    long end = Math.min(capacity, toGrain * grainBytes);
    target.writeZeroes(offset, end - offset, false);
  }
}
