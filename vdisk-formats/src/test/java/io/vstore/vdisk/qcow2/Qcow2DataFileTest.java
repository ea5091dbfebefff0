package io.vstore.vdisk.qcow2;

import static io.vstore.vdisk.QemuTool.assertCheckClean;
import static io.vstore.vdisk.QemuTool.ok;
import static io.vstore.vdisk.QemuTool.qemuIo;
import static io.vstore.vdisk.QemuTool.rawContent;
import static io.vstore.vdisk.DeviceBytes.readAll;
import static io.vstore.vdisk.DeviceBytes.assertSameBytes;
import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * qcow2 images with an external data file ({@code data_file=}, optionally {@code data_file_raw=on})
 * against qemu-img and qemu-io: vstore reads what QEMU wrote, and what vstore writes keeps the data
 * file 1:1, outside the refcounts, and (raw) readable as the whole disk by itself.
 */
class Qcow2DataFileTest {
  private static final long SIZE = 6 << 20;

  @TempDir Path dir;

  private Path create(String options) throws Exception {
    Path img = dir.resolve("img.qcow2");
    // An absolute name: qemu-img 7.2 resolves a relative one against its working directory.
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=" + dir.resolve("ext.data") + "," + options,
        img.toString(),
        Long.toString(SIZE));
    qemuIo(img, "qcow2", "write -P 0x11 0 100k", "write -P 0x22 1M 64k", "write -z 1088k 64k",
        "write -P 0x33 3M 5k", "discard 3M 64k", "write -P 0x44 5M 1M");
    return img;
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"data_file_raw=off", "data_file_raw=on", "'data_file_raw=off,extended_l2=on'",
      "'data_file_raw=on,extended_l2=on'", "'data_file_raw=off,cluster_size=4k'"})
  void readsAndWritesLikeQemu(String options) throws Exception {
    Path img = create(options);
    byte[] model = rawContent(img, "qcow2", dir);
    try (DiskImage d = ImageFormats.open(img, "qcow2", true)) {
      assertSameBytes(readAll(d), model, "vstore reading what qemu wrote");
    }
    try (DiskImage d = ImageFormats.open(img, "qcow2", false)) {
      write(d, model, 50_000, 90_000, (byte) 0x55);          // over data, into a hole, unaligned
      write(d, model, 2 << 20, 200_000, (byte) 0x66);        // fresh clusters
      write(d, model, (3 << 20) + 700, 1_000, (byte) 0x77);  // into a discarded cluster
      zero(d, model, 5 << 20, 512 << 10, false);
      zero(d, model, (5 << 20) + (768 << 10), 256 << 10, true);
      zero(d, model, 10_000, 5_000, true);
      d.discard(1 << 20, 64 << 10);
      Arrays.fill(model, 1 << 20, (1 << 20) + (64 << 10), (byte) 0);
    }
    assertCheckClean(img, "qcow2");
    CheckResult mine = ImageFormats.byName("qcow2").check(img);
    assertThat(mine.exitCode()).as("vstore check: %s", mine).isZero();
    assertSameBytes(rawContent(img, "qcow2", dir), model, "qemu reading what vstore wrote");
    try (DiskImage d = ImageFormats.open(img, "qcow2", true)) {
      assertSameBytes(readAll(d), model, "vstore reading back its own writes");
    }
    if (options.contains("data_file_raw=on")) {
      byte[] ext = Files.readAllBytes(dir.resolve("ext.data"));
      byte[] padded = Arrays.copyOf(ext, model.length);
      assertSameBytes(padded, model, "the raw data file read by itself");
      String info = ok("qemu-img", "info", img.toString());
      assertThat(info).as("qemu-img info after vstore wrote").contains("data file raw: true");
    }
  }

  @Test
  void keepsTheQcow2FileToMetadataAndShowsTheDataFile() throws Exception {
    Path img = create("data_file_raw=off");
    long before = Files.size(img);
    try (DiskImage d = ImageFormats.open(img, "qcow2", false)) {
      d.write(4 << 20, ByteBuffer.wrap(new byte[1 << 20]).put(0, (byte) 1));
      ImageInfo info = d.info();
      assertThat(info.details()).containsEntry("data_file", dir.resolve("ext.data").toString())
          .containsEntry("data_file_raw", false);
      assertThat(info.extents()).contains(dir.resolve("ext.data").toString());
    }
    // 1 MiB of new data allocates at most one L2 table in the qcow2 file; the data went to ext.data.
    assertThat(Files.size(img) - before).as("growth of the qcow2 file").isLessThan(1 << 20);
    assertThat(Files.size(dir.resolve("ext.data"))).isGreaterThanOrEqualTo(5 << 20);
    assertCheckClean(img, "qcow2");
  }

  private static void write(DiskImage d, byte[] model, int offset, int length, byte value) throws IOException {
    byte[] b = new byte[length];
    Arrays.fill(b, value);
    d.write(offset, ByteBuffer.wrap(b));
    System.arraycopy(b, 0, model, offset, length);
  }

  private static void zero(DiskImage d, byte[] model, int offset, int length, boolean unmap) throws IOException {
    d.writeZeroes(offset, length, unmap);
    Arrays.fill(model, offset, offset + length, (byte) 0);
  }
}
