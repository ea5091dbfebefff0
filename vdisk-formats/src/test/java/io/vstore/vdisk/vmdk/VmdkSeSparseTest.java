package io.vstore.vdisk.vmdk;

import static io.vstore.vdisk.vmdk.VmdkTesting.FORMAT;
import static io.vstore.vdisk.vmdk.VmdkTesting.chain;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.Extent;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.DeviceBytes;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.QemuTool;
import io.vstore.vdisk.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ESXi 6.5+ snapshot deltas: a seSparse descriptor with an SESPARSE extent over a vmfs parent,
 * laid out as ESXi logs it (header, volatile header, journal, directory, tables, bitmap, backmap,
 * grains). qemu reads SESparse read-only, so its reading is the reference.
 */
class VmdkSeSparseTest {
  private static final int SECTOR = 512;
  private static final long CAPACITY = 40960; // 20 MiB: two grain tables
  private static final int GRAIN = 8 * SECTOR;

  @TempDir Path dir;

  @Test
  void seSparseDeltaReadsOverItsParentLikeQemu() throws Exception {
    byte[] base = new byte[(int) (CAPACITY * SECTOR)];
    new Random(6).nextBytes(base);
    Files.write(dir.resolve("base-flat.vmdk"), base);
    Files.writeString(dir.resolve("base.vmdk"), "# Disk DescriptorFile\nversion=1\nCID=0172e8a4\nparentCID=ffffffff\n"
        + "createType=\"vmfs\"\nRW 40960 VMFS \"base-flat.vmdk\"\n");
    byte[] expected = base.clone();
    Path extent = dir.resolve("base-000001-sesparse.vmdk");
    writeSeSparse(extent, expected, 0x3000000000000000L);
    Path child = dir.resolve("base-000001.vmdk");
    Files.writeString(child, "# Disk DescriptorFile\nversion=1\nCID=8f67ca74\nparentCID=0172e8a4\ncreateType=\"seSparse\"\n"
        + "parentFileNameHint=\"base.vmdk\"\n# Extent description\nRW 40960 SESPARSE \"base-000001-sesparse.vmdk\"\n\n"
        + "# The Disk Data Base\n#DDB\n\nddb.grain = \"8\"\n");

    DeviceBytes.assertSameBytes(QemuTool.rawContent(child, "vmdk", dir), expected, "qemu reading of the hand-made SESparse delta");
    try (DiskImage d = VmdkTesting.open(child)) {
      assertThat(d.info().subformat()).isEqualTo("seSparse");
      DeviceBytes.assertSameBytes(DeviceBytes.readAll(d), expected, "vstore");
      assertThat(d.allocation(2L * GRAIN, GRAIN)).containsExactly(new Extent(2L * GRAIN, GRAIN, Extent.Kind.ZERO));
    }
    assertThatThrownBy(() -> FORMAT.open(child, false, chain())).isInstanceOf(UnsupportedFormatException.class);
    assertThat(FORMAT.check(child).exitCode()).isZero();

    writeSeSparse(extent, base.clone(), 0x5000000000000000L); // an unknown entry type
    try (DiskImage d = VmdkTesting.open(child)) {
      assertThatThrownBy(() -> DeviceBytes.readAll(d)).isInstanceOf(CorruptImageException.class)
          .hasMessageContaining("unknown type");
    }
    CheckResult r = FORMAT.check(child);
    assertThat(r.exitCode()).isEqualTo(2);
  }

  /**
   * Writes an SESparse extent whose grains 0, 1, 4096+7 (in the second table) and 5 are allocated
   * with grain indexes 0, 4097, 2, 3 (4097 exercises the split index encoding), grain 2 is zero
   * and grain 3 unmapped; {@code allocatedTag} is the entry type used for allocated grains.
   */
  private static void writeSeSparse(Path file, byte[] expected, long allocatedTag) throws Exception {
    long volatileOff = 1;
    long gdOff = 8;
    long gdSize = 1;
    long gtOff = 16;
    long gtSize = 2 * 64;
    long grainsOff = 256;
    long grainsSize = 4100 * 8; // room beyond the last grain used (index 4097)
    SeSparseHeader h = new SeSparseHeader(SeSparseHeader.VERSION, CAPACITY, 8, 64, 0, volatileOff, gdOff, gdSize, gtOff, gtSize,
        grainsOff, grainsSize);
    Files.deleteIfExists(file);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer head = ByteBuffer.allocate((int) (grainsOff * SECTOR)).order(ByteOrder.LITTLE_ENDIAN);
      h.write(head);
      SeSparseHeader.writeCleanVolatile(head);
      // Directory entries name grain tables by index: entry 1 uses table 1.
      head.putLong((int) (gdOff * SECTOR), 0x1000000000000000L);
      head.putLong((int) (gdOff * SECTOR) + 8, 0x1000000000000001L);
      long[][] grains = {{0, 0}, {1, 4097}, {4096 + 7, 2}, {5, 3}};
      Random r = new Random(12);
      for (long[] g : grains) {
        long table = g[0] / 4096 == 0 ? 0 : 1;
        long slot = g[0] % 4096;
        long index = g[1];
        long entry = allocatedTag | ((index & 0xfff) << 48) | (index >>> 12);
        head.putLong((int) ((gtOff + table * 64) * SECTOR + slot * 8), entry);
        byte[] data = new byte[GRAIN];
        r.nextBytes(data);
        ch.write(ByteBuffer.wrap(data), (grainsOff + index * 8) * SECTOR);
        System.arraycopy(data, 0, expected, (int) (g[0] * GRAIN), GRAIN);
      }
      head.putLong((int) (gtOff * SECTOR + 2 * 8), 0x2000000000000000L);
      head.putLong((int) (gtOff * SECTOR + 3 * 8), 0x1000000000000000L | 0x0000000000000007L);
      Arrays.fill(expected, 2 * GRAIN, 4 * GRAIN, (byte) 0);
      ch.write(head.clear(), 0);
      ch.write(ByteBuffer.allocate(1), (grainsOff + grainsSize) * SECTOR - 1);
    }
    assertThat(List.of(file)).allSatisfy(f -> assertThat(Files.size(f)).isGreaterThan(4097L * GRAIN));
  }
}
