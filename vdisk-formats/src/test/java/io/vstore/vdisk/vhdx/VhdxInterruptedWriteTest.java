package io.vstore.vdisk.vhdx;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageTesting;
import io.vstore.vdisk.QemuTool;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed between writes and flush leaves what the page cache holds: every write done so
 * far, in order. Copying the file at that moment gives that state; it must be a valid VHDX (qemu-img
 * check clean) reading the flushed content or, for blocks rewritten in place, the new bytes.
 */
class VhdxInterruptedWriteTest {
  @TempDir Path dir;

  @Test
  void fileCopiedBeforeFlushIsValidAndHoldsTheFlushedData() throws Exception {
    Path img = dir.resolve("i.vhdx");
    Random r = new Random(5);
    byte[] flushed = new byte[16 << 20];
    try (DiskImage d = VhdxQemuTest.FORMAT.create(img, flushed.length, new CreateOptions(Map.of("block_size", "1M"), null,
        null), VhdxQemuTest.CHAIN)) {
      byte[] a = new byte[3 << 20];
      r.nextBytes(a);
      ImageTesting.writeBoth(d, flushed, 1 << 20, a);
      d.flush();
      byte[] b = new byte[5 << 20];
      r.nextBytes(b);
      d.write(8 << 20, ByteBuffer.wrap(b)); // new blocks, not flushed
      Path copy = dir.resolve("killed.vhdx");
      Files.copy(img, copy);
      QemuTool.ok("qemu-img", "check", "-f", "vhdx", copy.toString());
      assertThat(VhdxQemuTest.FORMAT.check(copy).exitCode()).isZero();
      try (DiskImage k = VhdxQemuTest.FORMAT.open(copy, true, VhdxQemuTest.CHAIN)) {
        ImageTesting.assertReadsAs(k, flushed);
      }
      // The interrupted file stays writable: new allocations go past the unreferenced space.
      try (DiskImage k = VhdxQemuTest.FORMAT.open(copy, false, VhdxQemuTest.CHAIN)) {
        k.write(12 << 20, ByteBuffer.wrap(new byte[] {7}));
      }
      QemuTool.ok("qemu-img", "check", "-f", "vhdx", copy.toString());
    }
  }
}
