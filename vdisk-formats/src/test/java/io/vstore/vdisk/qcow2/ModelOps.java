package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;

/** Applies one random operation to an image and to its reference model alike. */
final class ModelOps {
  private ModelOps() {}

  /**
   * Applies operation {@code op} (0-9) to {@code [off, off + n)}: below {@code writesBelow} random
   * data, then up to 7 zeroes, 8 a discard, 9 a flush of the image.
   */
  static void apply(BlockDevice image, BlockDevice model, Random r, int op, int writesBelow, long off, int n)
      throws IOException {
    if (op < writesBelow) {
      byte[] data = new byte[n];
      r.nextBytes(data);
      image.write(off, ByteBuffer.wrap(data));
      model.write(off, ByteBuffer.wrap(data));
    } else if (op < 8) {
      image.writeZeroes(off, n, r.nextBoolean());
      model.writeZeroes(off, n, false);
    } else if (op < 9) {
      image.discard(off, n);
      model.discard(off, n);
    } else {
      image.flush();
    }
  }
}
