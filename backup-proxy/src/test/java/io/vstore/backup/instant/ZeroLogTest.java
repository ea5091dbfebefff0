package io.vstore.backup.instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ZeroLogTest {
  @TempDir Path dir;

  @Test
  void rangesSurviveReopenMerged() throws IOException {
    Path f = dir.resolve("v.zeros");
    try (ZeroLog log = ZeroLog.create(f, 65536, 100)) {
      log.add(10, 20);
      log.add(20, 25);
      log.add(40, 41);
      log.add(12, 14); // covered: nothing appended
    }
    assertThat(Files.size(f)).isEqualTo(ZeroLog.HEADER + 3 * ZeroLog.RECORD);
    try (ZeroLog log = ZeroLog.open(f, 65536, 100)) {
      assertThat(log.rangeCount()).isEqualTo(2);
      assertThat(log.covers(9)).isFalse();
      assertThat(log.covers(10)).isTrue();
      assertThat(log.covers(24)).isTrue();
      assertThat(log.covers(25)).isFalse();
      assertThat(log.coversAll(10, 25)).isTrue();
      assertThat(log.coversAll(10, 26)).isFalse();
      assertThat(log.covers(40)).isTrue();
    }
  }

  @Test
  void aTornLastRecordIsDroppedAndTheLogGoesOn() throws IOException {
    Path f = dir.resolve("v.zeros");
    try (ZeroLog log = ZeroLog.create(f, 4096, 100)) {
      log.add(1, 2);
      log.add(5, 6);
    }
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
      ch.truncate(Files.size(f) - 7);
    }
    try (ZeroLog log = ZeroLog.open(f, 4096, 100)) {
      assertThat(log.covers(1)).isTrue();
      assertThat(log.covers(5)).isFalse();
      log.add(7, 8);
    }
    try (ZeroLog log = ZeroLog.open(f, 4096, 100)) {
      assertThat(log.covers(7)).isTrue();
      assertThat(log.covers(5)).isFalse();
    }
  }

  @Test
  void damageIsNamed() throws IOException {
    Path f = dir.resolve("v.zeros");
    try (ZeroLog log = ZeroLog.create(f, 4096, 100)) {
      log.add(1, 2);
      log.add(5, 6);
    }
    flip(f, ZeroLog.HEADER + 3);
    assertThatThrownBy(() -> ZeroLog.open(f, 4096, 100)).isInstanceOf(CorruptDataException.class)
        .hasMessageContaining("bad zero log").hasMessageContaining("record at offset " + ZeroLog.HEADER);
    flip(f, ZeroLog.HEADER + 3);
    flip(f, 14);
    assertThatThrownBy(() -> ZeroLog.open(f, 4096, 100)).isInstanceOf(CorruptDataException.class)
        .hasMessageContaining("header checksum");
    flip(f, 14);
    flip(f, 0);
    assertThatThrownBy(() -> ZeroLog.open(f, 4096, 100)).isInstanceOf(CorruptDataException.class)
        .hasMessageContaining("not a zero log");
    flip(f, 0);
    assertThatThrownBy(() -> ZeroLog.open(f, 4096, 99)).isInstanceOf(CorruptDataException.class)
        .hasMessageContaining("describes 100 units");
    Files.write(f, new byte[5]);
    assertThatThrownBy(() -> ZeroLog.open(f, 4096, 100)).isInstanceOf(CorruptDataException.class)
        .hasMessageContaining("shorter than its header");
  }

  private static void flip(Path f, long at) throws IOException {
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, at);
      b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
      ch.write(b, at);
    }
  }
}
