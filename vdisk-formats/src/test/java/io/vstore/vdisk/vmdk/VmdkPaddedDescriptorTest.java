package io.vstore.vdisk.vmdk;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.Corpus;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageInfo;
import io.vstore.vdisk.QemuTool;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Text descriptors padded with NUL bytes to a whole sector, as qemu-img and VMware tools write them
 * for the subformats whose descriptor is a file of its own: detection, info and reading go by the
 * text before the first NUL, as in QEMU, and binary sectors are still not taken for descriptors.
 */
class VmdkPaddedDescriptorTest {
  /** 8 MiB and 3 sectors: a ragged end, data in several grains. */
  private static final long SIZE = (8L << 20) + 3 * 512;

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"})
  void paddedQemuDescriptorIsDetectedAndReadLikeQemu(String subformat) throws Exception {
    Path p = dir.resolve("q.vmdk");
    QemuTool.ok("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=" + subformat, p.toString(), Long.toString(SIZE));
    QemuTool.qemuIo(p, "vmdk", "write -P 0x11 0 65536", "write -P 0x22 100000 200000", "write -P 0x33 "
        + (SIZE - 1536) + " 1536");
    padToSector(p);
    assertThat(Files.readAllBytes(p)).as("descriptor ends in NUL padding").endsWith(0);

    assertThat(ImageFormats.detect(p).name()).isEqualTo("vmdk");
    byte[] expected = QemuTool.rawContent(p, "vmdk", dir);
    try (DiskImage image = ImageFormats.open(p, true)) {
      ImageInfo info = image.info();
      assertThat(info.format()).isEqualTo("vmdk");
      assertThat(info.subformat()).isEqualTo(subformat);
      assertThat(info.virtualSize()).isEqualTo(SIZE);
      ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(image.size()));
      image.read(0, all);
      int at = Arrays.mismatch(all.array(), expected);
      assertThat(at).as("first byte where vstore's reading differs from qemu-img convert -O raw").isEqualTo(-1);
    }
  }

  @Test
  void sectorWithDescriptorTextThenBinaryDataIsRaw() throws Exception {
    // Text that would pass for a descriptor, then a NUL and a boot signature: a disk, not padding.
    byte[] sector = new byte[512];
    byte[] text = "createType=\"monolithicFlat\"\nRW 1 FLAT \"x.img\" 0\n".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(text, 0, sector, 0, text.length);
    sector[510] = 0x55;
    sector[511] = (byte) 0xaa;
    Path p = Files.write(dir.resolve("mbr.img"), sector);
    assertThat(ImageFormats.detect(p).name()).isEqualTo(ImageFormats.RAW);

    Arrays.fill(sector, text.length, 512, (byte) 0);
    Files.write(p, sector);
    assertThat(ImageFormats.detect(p).name()).as("the same text padded with zeros only").isEqualTo("vmdk");
  }

  @Test
  void leftoverTextAfterTheNulIsIgnoredAsInQemu() throws Exception {
    // qemu rewrites a descriptor in place when its CID changes; a shorter CID leaves the tail of the
    // old text behind the new terminating NUL.
    Path p = dir.resolve("cid.vmdk");
    QemuTool.ok("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", p.toString(),
        Long.toString(SIZE));
    QemuTool.qemuIo(p, "vmdk", "write -P 0x44 4096 8192");
    byte[] text = Files.readAllBytes(p);
    byte[] withLeftover = Arrays.copyOf(text, (text.length / 512 + 1) * 512);
    byte[] stray = "ffe\n".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(stray, 0, withLeftover, text.length + 1, stray.length);
    Files.write(p, withLeftover);

    assertThat(ImageFormats.detect(p).name()).isEqualTo("vmdk");
    byte[] expected = QemuTool.rawContent(p, "vmdk", dir);
    try (DiskImage image = ImageFormats.open(p, true)) {
      ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(image.size()));
      image.read(0, all);
      assertThat(Arrays.mismatch(all.array(), expected)).isEqualTo(-1);
    }
  }

  @Test
  void realBootSectorIsRaw() throws Exception {
    Path mbr = Corpus.file("disks/qemu-samples/grub_mbr.raw");
    assertThat(ImageFormats.detect(mbr).name()).isEqualTo(ImageFormats.RAW);
  }

  /** Pads {@code p} with NULs to a multiple of 512 bytes (at least one NUL), as qemu-img and VMware may. */
  private static void padToSector(Path p) throws Exception {
    long size = Files.size(p);
    long padded = (size / 512 + 1) * 512;
    Files.write(p, new byte[(int) (padded - size)], StandardOpenOption.APPEND);
  }
}
