package io.vstore.vdisk.vmdk;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.Corpus;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DeviceBytes;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.QemuTool;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** VMDK through the format registry: detection by content, chains, and the generic convert. */
class VmdkRegistryTest {
  @TempDir Path dir;

  @Test
  void registryDetectsEveryCorpusVmdkByContent() throws Exception {
    Path disks = Corpus.root().resolve("disks/vmdk-rs");
    for (String f : new String[] {"monolithicSparse.vmdk", "monolithicFlat.vmdk", "twoGbMaxExtentSparse.vmdk",
        "twoGbMaxExtentSparse-s001.vmdk", "twoGbMaxExtentFlat.vmdk", "streamOptimized.vmdk", "streamOptimizedWithMarkers.vmdk",
        "vmfs_thick.vmdk"}) {
      assertThat(ImageFormats.detect(disks.resolve(f)).name()).as(f).isEqualTo("vmdk");
    }
    assertThat(ImageFormats.detect(disks.resolve("monolithicFlat-flat.vmdk")).name()).isEqualTo("raw");
  }

  @ParameterizedTest
  @ValueSource(strings = {"streamOptimized", "monolithicSparse", "twoGbMaxExtentFlat"})
  void genericConvertFromRawMatchesTheSource(String subformat) throws Exception {
    Path raw = dir.resolve("src.raw");
    VmdkQemuInteropTest.writeRawPattern(raw, (40L << 20) + 512, subformat.hashCode());
    Path out = dir.resolve("out.vmdk");
    ImageConversion.convert(raw, "raw", out, "vmdk", new CreateOptions(Map.of("subformat", subformat), null, null));
    assertThat(QemuTool.ok("qemu-img", "check", "-f", "vmdk", out.toString())).contains("No errors");
    QemuTool.ok("qemu-img", "compare", "-f", "vmdk", "-F", "raw", out.toString(), raw.toString());
    try (DiskImage d = ImageFormats.open(out, true)) {
      assertThat(d.info().subformat()).isEqualTo(subformat);
    }
  }

  @Test
  void deltaChainOpensThroughTheRegistry() throws Exception {
    Path base = dir.resolve("base.vmdk");
    QemuTool.ok("qemu-img", "create", "-f", "vmdk", base.toString(), "8M");
    QemuTool.qemuIo(base, "vmdk", "write -P 0x42 0 1M");
    Path child = dir.resolve("child.vmdk");
    QemuTool.ok("qemu-img", "create", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", child.toString());
    QemuTool.qemuIo(child, "vmdk", "write -P 0x43 512K 4K");
    try (DiskImage d = ImageFormats.open(child, true)) {
      assertThat(ImageFormats.chain(d)).hasSize(2);
      DeviceBytes.assertSameBytes(DeviceBytes.readAll(d), QemuTool.rawContent(child, "vmdk", dir), "chain");
    }
  }
}
