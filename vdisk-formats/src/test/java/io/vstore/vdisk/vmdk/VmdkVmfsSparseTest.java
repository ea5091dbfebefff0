package io.vstore.vdisk.vmdk;

import static io.vstore.vdisk.vmdk.VmdkTesting.FORMAT;
import static io.vstore.vdisk.vmdk.VmdkTesting.chain;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.vdisk.DeviceBytes;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.QemuTool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ESX snapshot deltas: a vmfsSparse descriptor with a VMFSSPARSE ("COWD") extent over a vmfs
 * flat parent, laid out as ESX writes them (the corpus's {@code vmfs_thick-000001.vmdk} names
 * such a pair). qemu reads them too, so its reading is the reference.
 */
class VmdkVmfsSparseTest {
  private static final int SECTOR = 512;
  private static final long SECTORS = 4096; // 2 MiB, as vmfs_thick in the corpus
  private static final long GRAIN = 2;

  @TempDir Path dir;

  @Test
  void esxSnapshotDeltaReadsOverItsVmfsParentLikeQemu() throws Exception {
    byte[] base = new byte[(int) (SECTORS * SECTOR)];
    new Random(4).nextBytes(base);
    Files.write(dir.resolve("vmfs_thick-flat.vmdk"), base);
    Files.writeString(dir.resolve("vmfs_thick.vmdk"), "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=0172e8a4\n"
        + "parentCID=ffffffff\ncreateType=\"vmfs\"\n\n# Extent description\nRW 4096 VMFS \"vmfs_thick-flat.vmdk\"\n\n"
        + "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\nddb.virtualHWVersion = \"14\"\n");
    byte[] expected = base.clone();
    long[] grains = {0, 5, 1000, 2047};
    writeCowd(dir.resolve("vmfs_thick-000001-delta.vmdk"), grains, expected);
    Path child = dir.resolve("vmfs_thick-000001.vmdk");
    Files.writeString(child, "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=8f67ca74\nparentCID=0172e8a4\n"
        + "createType=\"vmfsSparse\"\nparentFileNameHint=\"vmfs_thick.vmdk\"\n# Extent description\n"
        + "RW 4096 VMFSSPARSE \"vmfs_thick-000001-delta.vmdk\"\n\n# The Disk Data Base\n#DDB\n\n"
        + "ddb.longContentID = \"4b98b55ba6a6bc2e8fd6eb368f67ca74\"\n");

    DeviceBytes.assertSameBytes(QemuTool.rawContent(child, "vmdk", dir), expected, "qemu reading of the hand-made delta");
    try (DiskImage d = VmdkTesting.open(child)) {
      assertThat(d.info().subformat()).isEqualTo("vmfsSparse");
      assertThat(d.backing()).isPresent();
      DeviceBytes.assertSameBytes(DeviceBytes.readAll(d), expected, "vstore");
      assertThat(d.allocation(0, d.size())).extracting(Extent::kind).containsOnly(Extent.Kind.DATA);
    }
    try (DiskImage d = FORMAT.open(child, false, chain())) {
      assertThatThrownBy(() -> d.write(0, ByteBuffer.allocate(1))).isInstanceOf(ReadOnlyDeviceException.class);
    }
    assertThat(FORMAT.check(child).corruptions()).isEmpty();
    try (DiskImage alone = VmdkTesting.open(dir.resolve("vmfs_thick-000001-delta.vmdk"))) {
      byte[] own = DeviceBytes.readAll(alone);
      assertThat(Arrays.copyOfRange(own, (int) (GRAIN * SECTOR), (int) (2 * GRAIN * SECTOR))).containsOnly(0);
      assertThat(alone.allocation(0, GRAIN * SECTOR)).extracting(Extent::kind).containsExactly(Extent.Kind.DATA);
    }
  }

  /** Writes a COWD extent holding {@code grains} (random data, also put into {@code expected}). */
  private static void writeCowd(Path file, long[] grains, byte[] expected) throws Exception {
    int header = 4;
    long gd = header;
    long gt = gd + 1;
    long gtSectors = CowdHeader.GTES * 4L / SECTOR;
    long data = gt + gtSectors;
    ByteBuffer f = ByteBuffer.allocate((int) ((data + grains.length * GRAIN) * SECTOR)).order(ByteOrder.LITTLE_ENDIAN);
    new CowdHeader(1, 3, SECTORS, GRAIN, gd, 1, data + grains.length * GRAIN).write(f);
    f.putInt((int) (gd * SECTOR), (int) gt);
    Random r = new Random(8);
    for (int i = 0; i < grains.length; i++) {
      long sector = data + i * GRAIN;
      f.putInt((int) (gt * SECTOR + grains[i] * 4), (int) sector);
      byte[] g = new byte[(int) (GRAIN * SECTOR)];
      r.nextBytes(g);
      f.put((int) (sector * SECTOR), g);
      System.arraycopy(g, 0, expected, (int) (grains[i] * GRAIN * SECTOR), g.length);
    }
    Files.write(file, f.array());
  }
}
