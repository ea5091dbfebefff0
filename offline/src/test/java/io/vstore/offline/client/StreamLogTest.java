package io.vstore.offline.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The streaming check-out logs: what was appended is read back; a torn or damaged tail is cut off, never misread. */
class StreamLogTest {
  @TempDir Path tmp;

  @Test
  void appendedRunsSurviveAndATornTailIsCutOff() throws Exception {
    Path file = tmp.resolve(StreamLog.PRESENT);
    List<StreamLog.Run> runs = List.of(new StreamLog.Run(0, 0, 4), new StreamLog.Run(1, 7, 1),
        new StreamLog.Run(0, 1L << 33, 0xFFFF_FFFFL));
    try (StreamLog log = StreamLog.open(file)) {
      log.append(runs);
    }
    assertThat(StreamLog.readAll(file)).containsExactlyElementsOf(runs);
    // a crash in the middle of the next append: half a record
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.APPEND)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x56, 0x58, 0x53, 0x31, 0, 0, 0}));
    }
    try (StreamLog log = StreamLog.open(file)) {
      assertThat(log.runs()).containsExactlyElementsOf(runs);
      assertThat(Files.size(file)).isEqualTo(72);
      log.append(List.of(new StreamLog.Run(2, 3, 2)));
    }
    assertThat(StreamLog.readAll(file)).hasSize(4).last().isEqualTo(new StreamLog.Run(2, 3, 2));
    // a flipped bit in the second record: the first stays, nothing after the damage is believed
    byte[] bytes = Files.readAllBytes(file);
    bytes[24 + 9] ^= 0x10;
    Files.write(file, bytes);
    assertThat(StreamLog.readAll(file)).containsExactly(runs.getFirst());
    assertThat(StreamLog.readAll(tmp.resolve("absent.log"))).isEmpty();
    assertThat(tmp.resolve("absent.log")).doesNotExist();
  }
}
