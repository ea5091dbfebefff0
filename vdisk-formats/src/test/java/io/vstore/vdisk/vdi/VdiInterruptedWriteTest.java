package io.vstore.vdisk.vdi;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageTesting;
import io.vstore.vdisk.QemuTool;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A VDI copied between writes and flush (what a killed process leaves) is valid and reopens. */
class VdiInterruptedWriteTest {
  @TempDir Path dir;

  @Test
  void fileCopiedBeforeFlushIsValidAndReusesTheUnreferencedBlock() throws Exception {
    Path img = dir.resolve("i.vdi");
    Random r = new Random(6);
    byte[] flushed = new byte[8 << 20];
    try (DiskImage d = VdiTest.FORMAT.create(img, flushed.length, CreateOptions.none(), VdiTest.CHAIN)) {
      byte[] a = new byte[2 << 20];
      r.nextBytes(a);
      ImageTesting.writeBoth(d, flushed, 0, a);
      d.flush();
      byte[] b = new byte[1 << 20];
      r.nextBytes(b);
      d.write(5 << 20, ByteBuffer.wrap(b)); // a new block, not flushed
      Path copy = dir.resolve("killed.vdi");
      Files.copy(img, copy);
      QemuTool.ok("qemu-img", "check", "-f", "vdi", copy.toString());
      assertThat(VdiTest.FORMAT.check(copy).exitCode()).isZero();
      try (DiskImage k = VdiTest.FORMAT.open(copy, false, VdiTest.CHAIN)) {
        ImageTesting.assertReadsAs(k, flushed);
        // The next allocation takes the unreferenced block's place and must not show its bytes.
        k.write(3 << 20, ByteBuffer.wrap(new byte[] {1}));
        ByteBuffer one = ByteBuffer.allocate(1 << 20);
        k.read(3 << 20, one);
        assertThat(Arrays.copyOfRange(one.array(), 1, 1 << 20)).containsOnly(0);
      }
      QemuTool.ok("qemu-img", "check", "-f", "vdi", copy.toString());
    }
  }
}
