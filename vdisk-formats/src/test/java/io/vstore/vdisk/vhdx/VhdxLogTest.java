package io.vstore.vdisk.vhdx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.QemuTool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dirty logs: an image whose BAT update sits in the log only. qemu-img check -r all replays the
 * same file, so vstore's replay is checked against qemu's, and the log format against qemu's reader.
 */
class VhdxLogTest {
  @TempDir Path dir;

  /** A sector to write through the log, or (data == null) a run of zeros. */
  record Change(long fileOffset, byte[] data, long zeroLength) {}

  /** Writes one log entry holding {@code changes} at the start of the log and marks the log dirty. */
  static void writeDirtyLog(Path file, List<Change> changes, long sequence) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      VhdxFormat.CurrentHeader current = VhdxFormat.readHeader(file, ch);
      VhdxHeader h = current.header();
      UUID logGuid = UUID.randomUUID();
      int dataSectors = (int) changes.stream().filter(c -> c.data() != null).count();
      int headerSectors = (64 + 32 * changes.size() + 4095) / 4096;
      int length = 4096 * (headerSectors + dataSectors);
      ByteBuffer e = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
      e.putInt(0, VhdxLog.ENTRY_SIGNATURE);
      e.putInt(8, length);
      e.putInt(12, 0);
      e.putLong(16, sequence);
      e.putInt(24, changes.size());
      MsGuid.write(e, 32, logGuid);
      e.putLong(48, ch.size());
      e.putLong(56, ch.size());
      int data = headerSectors * 4096;
      for (int i = 0; i < changes.size(); i++) {
        Change c = changes.get(i);
        int at = 64 + 32 * i;
        if (c.data() == null) {
          e.putInt(at, VhdxLog.ZERO_DESCRIPTOR);
          e.putLong(at + 8, c.zeroLength());
        } else {
          ByteBuffer s = ByteBuffer.wrap(c.data()).order(ByteOrder.LITTLE_ENDIAN);
          e.putInt(at, VhdxLog.DATA_DESCRIPTOR);
          e.putInt(at + 4, s.getInt(4092));
          e.putLong(at + 8, s.getLong(0));
          e.putInt(data, VhdxLog.DATA_SIGNATURE);
          e.putInt(data + 4, (int) (sequence >>> 32));
          e.put(data + 8, c.data(), 8, 4084);
          e.putInt(data + 4092, (int) sequence);
          data += 4096;
        }
        e.putLong(at + 16, c.fileOffset());
        e.putLong(at + 24, sequence);
      }
      CRC32C crc = new CRC32C();
      crc.update(e.duplicate().clear());
      e.putInt(4, (int) crc.getValue());
      io.vstore.vdisk.FileContent.writeFully(ch, h.logOffset(), e.clear());
      VhdxHeader.writeBoth(ch, h, current.slot(), logGuid);
    }
  }

  @Test
  void dirtyLogIsRefusedReadOnlyAndReplayedReadWriteLikeQemu() throws Exception {
    Path clean = dir.resolve("clean.vhdx");
    Random r = new Random(11);
    byte[] model = new byte[32 << 20];
    try (DiskImage d = VhdxQemuTest.FORMAT.create(clean, model.length, new CreateOptions(Map.of("block_size", "1M"), null, null),
        VhdxQemuTest.CHAIN)) {
      byte[] data = new byte[5 << 20];
      r.nextBytes(data);
      d.write(2 << 20, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, model, 2 << 20, data.length);
    }
    long batOffset;
    long block3;
    try (FileChannel ch = FileChannel.open(clean, StandardOpenOption.READ)) {
      VhdxFormat.Layout l = VhdxFormat.readLayout(clean, ch, false);
      batOffset = l.batRegion().offset();
      block3 = l.bat()[3] & VhdxImage.OFFSET_MASK;
    }
    // The dirty file: BAT sector reverted to empty, the real one only in the log, plus a zero
    // descriptor that wipes 8 KiB inside guest block 3.
    Path dirty = dir.resolve("dirty.vhdx");
    Files.copy(clean, dirty);
    byte[] batSector = new byte[4096];
    try (FileChannel ch = FileChannel.open(dirty, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ch.read(ByteBuffer.wrap(batSector), batOffset);
      ch.write(ByteBuffer.allocate(4096), batOffset);
    }
    writeDirtyLog(dirty, List.of(new Change(batOffset, batSector, 0), new Change(block3 + 4096, null, 8192)), 7);
    Arrays.fill(model, (3 << 20) + 4096, (3 << 20) + 4096 + 8192, (byte) 0);

    assertThatThrownBy(() -> VhdxQemuTest.FORMAT.open(dirty, true, VhdxQemuTest.CHAIN))
        .isInstanceOf(ReadOnlyDeviceException.class).hasMessageStartingWith("dirty vhdx").hasMessageContaining("dirty.vhdx");
    CheckResult check = VhdxQemuTest.FORMAT.check(dirty);
    assertThat(check.incomplete()).isTrue();
    assertThat(check.exitCode()).isEqualTo(2);

    Path byQemu = dir.resolve("qemu.vhdx");
    Files.copy(dirty, byQemu, StandardCopyOption.REPLACE_EXISTING);
    QemuTool.Run rq = QemuTool.run("qemu-img", "check", "-r", "all", "-f", "vhdx", byQemu.toString());
    assertThat(rq.exitCode()).as(rq.stderr() + rq.stdout()).isIn(0);

    try (DiskImage d = VhdxQemuTest.FORMAT.open(dirty, false, VhdxQemuTest.CHAIN)) {
      byte[] back = new byte[model.length];
      d.read(0, ByteBuffer.wrap(back));
      assertThat(Arrays.mismatch(back, model)).isEqualTo(-1);
    }
    Path raw = dir.resolve("model.raw");
    Files.write(raw, model);
    QemuTool.ok("qemu-img", "compare", "-f", "vhdx", "-F", "raw", byQemu.toString(), raw.toString());
    QemuTool.ok("qemu-img", "compare", "-f", "vhdx", "-F", "raw", dirty.toString(), raw.toString());
    assertThat(VhdxQemuTest.FORMAT.check(dirty).exitCode()).isZero();
    QemuTool.ok("qemu-img", "check", "-f", "vhdx", dirty.toString());
    try (DiskImage d = VhdxQemuTest.FORMAT.open(dirty, true, VhdxQemuTest.CHAIN)) {
      assertThat(d.size()).isEqualTo(model.length);
    }
  }

  @Test
  void logEntryWithBadChecksumIsIgnored() throws Exception {
    Path img = dir.resolve("x.vhdx");
    VhdxQemuTest.FORMAT.create(img, 8 << 20, CreateOptions.none(), VhdxQemuTest.CHAIN).close();
    long logOffset;
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ)) {
      logOffset = VhdxFormat.readHeader(img, ch).header().logOffset();
    }
    writeDirtyLog(img, List.of(new Change(3 << 20, null, 4096)), 3);
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {0x42}), logOffset + 100);
    }
    // No valid entry: nothing to replay, the file opens read-only.
    try (DiskImage d = VhdxQemuTest.FORMAT.open(img, true, VhdxQemuTest.CHAIN)) {
      assertThat(d.size()).isEqualTo(8 << 20);
    }
  }

  @Test
  void logWritingOutsideTheFileIsRefused() throws Exception {
    Path img = dir.resolve("y.vhdx");
    VhdxQemuTest.FORMAT.create(img, 8 << 20, CreateOptions.none(), VhdxQemuTest.CHAIN).close();
    writeDirtyLog(img, List.of(new Change(1L << 50, null, 4096)), 3);
    assertThatThrownBy(() -> VhdxQemuTest.FORMAT.open(img, false, VhdxQemuTest.CHAIN))
        .isInstanceOf(io.vstore.vdisk.CorruptImageException.class).hasMessageContaining("outside");
  }
}
