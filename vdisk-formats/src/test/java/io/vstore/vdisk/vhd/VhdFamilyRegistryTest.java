package io.vstore.vdisk.vhd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.QemuTool;
import io.vstore.vdisk.ImageTesting;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** VHD, VHDX and VDI through the shared registry: detection by content, chains, conversion. */
class VhdFamilyRegistryTest {
  @TempDir Path dir;

  @ParameterizedTest
  @CsvSource({"vpc,subformat=dynamic", "vpc,subformat=fixed", "vhdx,subformat=dynamic", "vhdx,subformat=fixed",
      "vdi,static=off", "vdi,static=on"})
  void qemuMadeImagesAreDetectedByContentWhateverTheirName(String format, String opts) throws Exception {
    Path img = dir.resolve("image.raw"); // a misleading extension: detection must not look at it
    QemuTool.ok("qemu-img", "create", "-q", "-f", format, "-o", opts, img.toString(), "10M");
    assertThat(ImageFormats.detect(img).name()).isEqualTo(format);
  }

  @Test
  void differencingChainOpensThroughTheRegistry() throws Exception {
    Path base = dir.resolve("base.vhd");
    try (DiskImage d = ImageFormats.create(base, "vpc", 8 << 20, CreateOptions.none())) {
      d.write(0, ByteBuffer.wrap(ImageTesting.filled(4096, 0x21)));
    }
    Path child = dir.resolve("child.vhd");
    try (DiskImage d = new VhdFormat().create(child, 0, new CreateOptions(Map.of(), "base.vhd", "vpc"),
        (p, f) -> ImageFormats.open(p, f, true))) {
      d.write(8192, ByteBuffer.wrap(ImageTesting.filled(4096, 0x22)));
    }
    try (DiskImage d = ImageFormats.open(child, null, true)) {
      assertThat(d.backing()).isPresent();
      ByteBuffer b = ByteBuffer.allocate(12288);
      d.read(0, b);
      assertThat(b.get(0)).isEqualTo((byte) 0x21);
      assertThat(b.get(5000)).isEqualTo((byte) 0);
      assertThat(b.get(9000)).isEqualTo((byte) 0x22);
    }
  }

  @ParameterizedTest
  @CsvSource({"vpc,vhdx", "vhdx,vdi", "vdi,vpc"})
  void genericConvertBetweenTheFormatsComparesIdenticalInQemu(String from, String to) throws Exception {
    Path src = dir.resolve("src." + from);
    QemuTool.ok("qemu-img", "create", "-q", "-f", from, src.toString(), "20M");
    QemuTool.ok("qemu-io", "-f", from, "-c", "write -P 0x5c 1M 3M", "-c", "write -P 0x11 17M 4096", src.toString());
    Path out = dir.resolve("out." + to);
    ImageConversion.convert(src, null, out, to, CreateOptions.none());
    QemuTool.ok("qemu-img", "compare", "-f", from, "-F", to, src.toString(), out.toString());
  }
}
