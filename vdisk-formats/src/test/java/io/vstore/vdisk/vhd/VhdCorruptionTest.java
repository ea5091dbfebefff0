package io.vstore.vdisk.vhd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageTesting;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncated, zeroed and bit-flipped VHD files give CorruptImageException, never a crash. */
class VhdCorruptionTest {
  @TempDir Path dir;

  private Path dynamicImage() throws IOException {
    return ImageTesting.created(VhdQemuTest.FORMAT, VhdQemuTest.CHAIN, dir.resolve("d.vhd"), 8L << 20,
        new CreateOptions(Map.of("force_size", "on"), null, null), ByteBuffer.wrap(ImageTesting.filled(4 << 20, 0x5a)));
  }

  @Test
  void flippedFooterBitFailsTheChecksum() throws IOException {
    Path p = dynamicImage();
    long size = Files.size(p);
    ImageTesting.patch(p, size - 512 + 50, new byte[] {0x7f});
    ImageTesting.patch(p, 50, new byte[] {0x7f});
    ImageTesting.assertOpenRefused(VhdQemuTest.FORMAT, VhdQemuTest.CHAIN, p, "checksum").hasMessageContaining(p.toString());
  }

  @Test
  void flippedHeaderBitFailsTheChecksum() throws IOException {
    Path p = dynamicImage();
    ImageTesting.patch(p, 512 + 100, new byte[] {0x01});
    ImageTesting.assertOpenRefused(VhdQemuTest.FORMAT, VhdQemuTest.CHAIN, p, "dynamic header checksum");
    assertThat(VhdQemuTest.FORMAT.check(p).exitCode()).isEqualTo(2);
  }

  @Test
  void batEntryPastTheEndIsRefused() throws IOException {
    Path p = dynamicImage();
    ImageTesting.patch(p, 1536 + 4, new byte[] {0x10, 0, 0, 0});
    ImageTesting.assertOpenRefused(VhdQemuTest.FORMAT, VhdQemuTest.CHAIN, p, "BAT entry 1");
  }

  @Test
  void overlappingBatEntriesAreReportedByCheck() throws IOException {
    Path p = dynamicImage();
    ByteBuffer first = ByteBuffer.allocate(4);
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      ch.read(first, 1536);
    }
    ImageTesting.patch(p, 1536 + 4, first.array());
    CheckResult r = VhdQemuTest.FORMAT.check(p);
    assertThat(r.corruptions()).anySatisfy(c -> assertThat(c).contains("overlaps"));
    assertThat(r.exitCode()).isEqualTo(2);
  }

  @Test
  void truncatedFileIsRefusedAtEveryLength() throws IOException {
    Path p = dynamicImage();
    byte[] whole = Files.readAllBytes(p);
    for (int len : new int[] {0, 100, 511, 512, 1000, 2048, 4096, whole.length - 512 - 4096}) {
      Path t = dir.resolve("t" + len + ".vhd");
      Files.write(t, java.util.Arrays.copyOf(whole, len));
      assertThatThrownBy(() -> VhdQemuTest.FORMAT.open(t, true, VhdQemuTest.CHAIN))
          .as("length %d", len).isInstanceOf(CorruptImageException.class);
      VhdFuzzTest.exercise(t);
    }
    // Only the trailing footer cut: the copy at offset 0 opens the disk, check flags it incomplete.
    Path t = dir.resolve("tail.vhd");
    Files.write(t, java.util.Arrays.copyOf(whole, whole.length - 1));
    try (DiskImage d = VhdQemuTest.FORMAT.open(t, true, VhdQemuTest.CHAIN)) {
      assertThat(d.size()).isEqualTo(8L << 20);
    }
    CheckResult r = VhdQemuTest.FORMAT.check(t);
    assertThat(r.incomplete()).isTrue();
    assertThat(r.exitCode()).isEqualTo(2);
  }

  @Test
  void zeroedRegionsAreRefusedOrReadWithoutCrash() throws IOException {
    Path p = dynamicImage();
    byte[] whole = Files.readAllBytes(p);
    for (int at = 0; at < 4096; at += 256) {
      byte[] copy = whole.clone();
      java.util.Arrays.fill(copy, at, at + 256, (byte) 0);
      java.util.Arrays.fill(copy, copy.length - 512, copy.length, (byte) 0);
      Path t = dir.resolve("z" + at + ".vhd");
      Files.write(t, copy);
      VhdFuzzTest.exercise(t);
    }
    byte[] copy = whole.clone();
    java.util.Arrays.fill(copy, 0, 2048, (byte) 0);
    java.util.Arrays.fill(copy, copy.length - 512, copy.length, (byte) 0);
    Path t = dir.resolve("zall.vhd");
    Files.write(t, copy);
    assertThatThrownBy(() -> VhdQemuTest.FORMAT.open(t, true, VhdQemuTest.CHAIN))
        .isInstanceOf(CorruptImageException.class).hasMessageStartingWith("not a vpc");
  }

  @Test
  void interruptedAllocationLeavesALeakNotACorruption() throws IOException {
    Path p = dynamicImage();
    // Simulate a crash after a block was appended but before its BAT entry was written: the file
    // grows by one block and a footer, the BAT does not change.
    long size = Files.size(p);
    byte[] footer = new byte[512];
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ch.read(ByteBuffer.wrap(footer), size - 512);
      ch.write(ByteBuffer.wrap(new byte[512 + (2 << 20)]), size - 512);
      ch.write(ByteBuffer.wrap(footer), size + (2 << 20));
    }
    CheckResult r = VhdQemuTest.FORMAT.check(p);
    assertThat(r.corruptions()).isEmpty();
    assertThat(r.leaks()).isNotEmpty();
    assertThat(r.exitCode()).isEqualTo(3);
    try (DiskImage d = VhdQemuTest.FORMAT.open(p, false, VhdQemuTest.CHAIN)) {
      d.write(6 << 20, ByteBuffer.wrap(ImageTesting.filled(4096, 1)));
      ByteBuffer b = ByteBuffer.allocate(4096);
      d.read(6 << 20, b);
      assertThat(b.array()).containsOnly(1);
    }
  }
}
