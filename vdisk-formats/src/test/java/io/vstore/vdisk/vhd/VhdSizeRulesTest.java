package io.vstore.vdisk.vhd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * qemu's rule for the virtual size of a VHD: CHS geometry for most creators, the footer's current
 * size for Hyper-V, Disk2vhd, XenServer, XenConverter and qemu's "qem2". Footers are rewritten with
 * each creator and a current size that disagrees with the geometry; vstore and qemu-img must agree.
 */
class VhdSizeRulesTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"vpc ", "qemu", "qem2", "win ", "d2v ", "tap\0", "CTXS", "vsto", "VBox"})
  void virtualSizeFollowsTheCreatorLikeQemu(String creator) throws Exception {
    Path p = dir.resolve("c.vhd");
    VhdQemuTest.FORMAT.create(p, 100L << 20, CreateOptions.none(), VhdQemuTest.CHAIN).close();
    long size = Files.size(p);
    VhdFooter f;
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      f = VhdFooter.read(VhdFormat.readAt(ch, size - 512, 512), "test");
    }
    long current = f.geometry().sectors() * 512 + 7 * 512; // a current size the geometry does not give
    VhdFooter changed = new VhdFooter(f.dataOffset(), f.timestamp(), creator, f.creatorVersion(), f.creatorOs(),
        current, current, f.geometry(), f.diskType(), 0, f.uuid(), false);
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
      write(ch, 0, changed.toBuffer());
      write(ch, size - 512, changed.toBuffer());
    }
    long expected = switch (creator) {
      case "qem2", "win ", "d2v ", "tap\0", "CTXS" -> current;
      default -> f.geometry().sectors() * 512;
    };
    try (DiskImage d = VhdQemuTest.FORMAT.open(p, true, VhdQemuTest.CHAIN)) {
      assertThat(d.size()).isEqualTo(expected);
    }
    assertThat(VhdQemuTest.qemuVirtualSize(p)).isEqualTo(expected);
  }

  private static void write(FileChannel ch, long at, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      at += ch.write(b, at);
    }
  }
}
