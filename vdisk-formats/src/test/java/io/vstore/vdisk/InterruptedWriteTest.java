package io.vstore.vdisk;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.vdi.VdiFormat;
import io.vstore.vdisk.vhdx.VhdxFormat;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed between writes and flush leaves what the page cache holds: every write done so
 * far, in order. Copying the file at that moment gives that state; it must be a valid VDI or VHDX
 * (qemu-img check clean) reading the flushed content, and it reopens for writing.
 */
class InterruptedWriteTest {
  private static final ImageFormat VDI = new VdiFormat();
  private static final ImageFormat VHDX = new VhdxFormat();

  @TempDir Path dir;

  @Test
  void vdiCopiedBeforeFlushIsValidAndReusesTheUnreferencedBlock() throws Exception {
    ImageChainOpener chain = ImageTesting.chainOf(VDI);
    byte[] flushed = new byte[8 << 20];
    Path copy = ImageTesting.killedAfter(VDI, chain, dir.resolve("i.vdi"), flushed.length, CreateOptions.none(), 6,
        (d, r) -> ImageTesting.writeBoth(d, flushed, 0, ImageTesting.randomBytes(r, 2 << 20)),
        (d, r) -> d.write(5 << 20, ByteBuffer.wrap(ImageTesting.randomBytes(r, 1 << 20)))); // a new block, not flushed
    try (DiskImage k = VDI.open(copy, false, chain)) {
      ImageTesting.assertReadsAs(k, flushed);
      // The next allocation takes the unreferenced block's place and must not show its bytes.
      k.write(3 << 20, ByteBuffer.wrap(new byte[] {1}));
      ByteBuffer one = ByteBuffer.allocate(1 << 20);
      k.read(3 << 20, one);
      assertThat(Arrays.copyOfRange(one.array(), 1, 1 << 20)).containsOnly(0);
    }
    QemuTool.ok("qemu-img", "check", "-f", "vdi", copy.toString());
  }

  @Test
  void vhdxCopiedBeforeFlushIsValidAndHoldsTheFlushedData() throws Exception {
    ImageChainOpener chain = ImageTesting.chainOf(VHDX);
    byte[] flushed = new byte[16 << 20];
    CreateOptions options = new CreateOptions(Map.of("block_size", "1M"), null, null);
    Path copy = ImageTesting.killedAfter(VHDX, chain, dir.resolve("i.vhdx"), flushed.length, options, 5,
        (d, r) -> ImageTesting.writeBoth(d, flushed, 1 << 20, ImageTesting.randomBytes(r, 3 << 20)),
        (d, r) -> d.write(8 << 20, ByteBuffer.wrap(ImageTesting.randomBytes(r, 5 << 20)))); // new blocks, not flushed
    try (DiskImage k = VHDX.open(copy, true, chain)) {
      ImageTesting.assertReadsAs(k, flushed);
    }
    // The interrupted file stays writable: new allocations go past the unreferenced space.
    try (DiskImage k = VHDX.open(copy, false, chain)) {
      k.write(12 << 20, ByteBuffer.wrap(new byte[] {7}));
    }
    QemuTool.ok("qemu-img", "check", "-f", "vhdx", copy.toString());
  }
}
