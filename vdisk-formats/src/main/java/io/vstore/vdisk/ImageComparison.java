package io.vstore.vdisk;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * {@code image compare}, as {@code qemu-img compare} does it: the first offset where the guest
 * contents differ; when sizes differ, the longer image's tail must read as zeros. Ranges both
 * report as holes or zeros are not read.
 */
public final class ImageComparison {
  private static final int CHUNK = 1 << 20;

  /**
   * The outcome.
   *
   * @param identical whether every byte compares equal
   * @param firstDifference offset of the first differing byte, or -1
   */
  public record Result(boolean identical, long firstDifference) {
    /** Returns the line qemu-img prints. */
    public String message() {
      return identical ? "Images are identical." : "Content mismatch at offset " + firstDifference + "!";
    }
  }

  private ImageComparison() {}

  /** Compares {@code a} and {@code b}. */
  public static Result compare(BlockDevice a, BlockDevice b) throws IOException {
    long common = Math.min(a.size(), b.size());
    byte[] ba = new byte[CHUNK];
    byte[] bb = new byte[CHUNK];
    for (long pos = 0; pos < common; pos += CHUNK) {
      int n = (int) Math.min(CHUNK, common - pos);
      if (allZero(a.allocation(pos, n)) && allZero(b.allocation(pos, n))) {
        continue;
      }
      a.read(pos, ByteBuffer.wrap(ba, 0, n));
      b.read(pos, ByteBuffer.wrap(bb, 0, n));
      int at = Arrays.mismatch(ba, 0, n, bb, 0, n);
      if (at >= 0) {
        return new Result(false, pos + at);
      }
    }
    BlockDevice longer = a.size() > b.size() ? a : b;
    byte[] zeros = new byte[CHUNK];
    for (long pos = common; pos < longer.size(); pos += CHUNK) {
      int n = (int) Math.min(CHUNK, longer.size() - pos);
      if (allZero(longer.allocation(pos, n))) {
        continue;
      }
      longer.read(pos, ByteBuffer.wrap(ba, 0, n));
      int at = Arrays.mismatch(ba, 0, n, zeros, 0, n);
      if (at >= 0) {
        return new Result(false, pos + at);
      }
    }
    return new Result(true, -1);
  }

  private static boolean allZero(List<Extent> extents) {
    for (Extent e : extents) {
      if (!e.kind().readsAsZeros()) {
        return false;
      }
    }
    return true;
  }
}
