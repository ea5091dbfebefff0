package io.vstore.vdisk.vhdx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageTesting;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncated, zeroed and bit-flipped VHDX files give CorruptImageException, never a crash. */
class VhdxCorruptionTest {
  @TempDir Path dir;

  private Path image() throws IOException {
    return ImageTesting.created(VhdxQemuTest.FORMAT, VhdxQemuTest.CHAIN, dir.resolve("d.vhdx"), 8L << 20,
        new CreateOptions(Map.of("block_size", "1M"), null, null), ByteBuffer.wrap(new byte[3 << 20]).put(5, (byte) 9));
  }

  @Test
  void oneFlippedHeaderFallsBackToTheOtherBothFlippedIsRefused() throws IOException {
    Path p = image();
    ImageTesting.patch(p, VhdxHeader.OFFSET_1 + 20, new byte[] {0x55});
    try (DiskImage d = VhdxQemuTest.FORMAT.open(p, true, VhdxQemuTest.CHAIN)) {
      assertThat(d.size()).isEqualTo(8L << 20);
    }
    ImageTesting.patch(p, VhdxHeader.OFFSET_2 + 20, new byte[] {0x55});
    ImageTesting.assertOpenRefused(VhdxQemuTest.FORMAT, VhdxQemuTest.CHAIN, p, "no valid header")
        .hasMessageContaining("header checksum");
  }

  @Test
  void flippedRegionTablesAreRefused() throws IOException {
    Path p = image();
    ImageTesting.patch(p, VhdxRegionTable.OFFSET_1 + 40, new byte[] {0x01});
    ImageTesting.patch(p, VhdxRegionTable.OFFSET_2 + 40, new byte[] {0x01});
    ImageTesting.assertOpenRefused(VhdxQemuTest.FORMAT, VhdxQemuTest.CHAIN, p, "region table checksum");
    assertThat(VhdxQemuTest.FORMAT.check(p).exitCode()).isEqualTo(2);
  }

  @Test
  void metadataProblemsAreRefused() throws IOException {
    Path p = image();
    long meta = 2 << 20; // where vstore puts the metadata region, after a 1 MiB log
    ImageTesting.patch(p, meta, "metadatX".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    ImageTesting.assertOpenRefused(VhdxQemuTest.FORMAT, VhdxQemuTest.CHAIN, p, "metadata table signature");
    Path q2 = dir.resolve("q.vhdx");
    Files.move(p, dir.resolve("first.vhdx"));
    Files.move(image(), q2);
    ImageTesting.patch(q2, meta + (64 << 10), new byte[] {0, 0, 0x30, 0}); // block size 3 MiB: not a power of two
    ImageTesting.assertOpenRefused(VhdxQemuTest.FORMAT, VhdxQemuTest.CHAIN, q2, "block size");
  }

  @Test
  void batEntryOverlappingMetadataIsRefusedAndPastTheEndIsReported() throws IOException {
    Path p = image();
    long bat = 3 << 20;
    ByteBuffer e = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    e.putLong(0, (2L << 20) | VhdxImage.FULLY_PRESENT);
    ImageTesting.patch(p, bat + 8, e.array());
    ImageTesting.assertOpenRefused(VhdxQemuTest.FORMAT, VhdxQemuTest.CHAIN, p, "overlaps region metadata");
    e.putLong(0, (1L << 40) | VhdxImage.FULLY_PRESENT);
    ImageTesting.patch(p, bat + 8, e.array());
    CheckResult r = VhdxQemuTest.FORMAT.check(p);
    assertThat(r.corruptions()).anySatisfy(c -> assertThat(c).contains("beyond the end of the file"));
    assertThat(r.exitCode()).isEqualTo(2);
    e.putLong(0, 3L | (5L << 20)); // invalid state 3
    ImageTesting.patch(p, bat + 8, e.array());
    ImageTesting.assertOpenRefused(VhdxQemuTest.FORMAT, VhdxQemuTest.CHAIN, p, "state 3");
  }

  @Test
  void truncationAndZeroingNeverCrash() throws IOException {
    Path p = image();
    byte[] whole = Files.readAllBytes(p);
    for (int len : new int[] {0, 7, 4096, 65536 + 100, 200_000, 300_000, 1 << 20, (2 << 20) + 10, 3 << 20}) {
      Path t = dir.resolve("t" + len + ".vhdx");
      Files.write(t, Arrays.copyOf(whole, len));
      assertThatThrownBy(() -> VhdxQemuTest.FORMAT.open(t, true, VhdxQemuTest.CHAIN)).as("length %d", len)
          .isInstanceOf(CorruptImageException.class);
      VhdxFuzzTest.exercise(t, false);
    }
    for (long at : new long[] {0, VhdxHeader.OFFSET_1, VhdxRegionTable.OFFSET_1, 2 << 20, 3 << 20}) {
      byte[] copy = whole.clone();
      Arrays.fill(copy, (int) at, (int) at + 4096, (byte) 0);
      Path t = dir.resolve("z" + at + ".vhdx");
      Files.write(t, copy);
      VhdxFuzzTest.exercise(t, true);
    }
  }
}
