package io.vstore.vdisk.qcow2;

import static io.vstore.vdisk.DeviceBytes.readAll;
import static io.vstore.vdisk.QemuTool.assertCheckClean;
import static io.vstore.vdisk.QemuTool.ok;
import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.vdisk.CheckResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
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

  /** Asserts that qemu-img and vstore check {@code img} clean and qemu-img reads it as {@code model}. */
  static void assertQemuAccepts(Path img, BlockDevice model, Path expectedRaw) throws Exception {
    assertCheckClean(img, "qcow2");
    CheckResult own = new Qcow2Format().check(img);
    assertThat(own.corruptions()).isEmpty();
    assertThat(own.leaks()).isEmpty();
    Files.write(expectedRaw, readAll(model));
    ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", img.toString(), expectedRaw.toString());
  }
}
