package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.OutOfSpaceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The datastore's lifecycle, space accounting, capacity, cleaning and corruption detection. */
final class DatastoreTest {
  @TempDir Path tmp;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO);
  }

  private static ByteBuffer random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  @Test
  void aSecondOpenerIsRefusedWhileTheFirstHoldsTheDatastore() throws IOException {
    Path dir = tmp.resolve("ds");
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      assertThatThrownBy(() -> Datastore.open(dir, options())).isInstanceOf(DatastoreException.class)
          .hasMessageContaining("in use").hasMessageContaining("pid " + ProcessHandle.current().pid());
      assertThat(ds.info().volumes()).isZero();
    }
    Datastore.open(dir, options()).close();
  }

  @Test
  void anOrderlyCloseLeavesNoLogToReplayWhileACrashLeavesTheCommitsInIt() throws IOException {
    Path dir = tmp.resolve("ds");
    ByteBuffer data = random(7, 64 << 10);
    for (boolean crash : new boolean[] {false, true}) {
      Datastore ds = Datastore.create(dir.resolve(String.valueOf(crash)), options(), 0);
      Volume v = ds.createVolume("v", 1 << 20);
      v.write(0, data.duplicate());
      v.flush();
      if (crash) {
        ds.abandon();
      } else {
        ds.close();
      }
      long logBytes;
      try (var files = Files.list(dir.resolve(crash + "/meta"))) {
        logBytes = files.filter(p -> p.toString().endsWith(".log")).mapToLong(p -> p.toFile().length()).sum();
      }
      if (crash) {
        assertThat(logBytes).as("write-ahead log bytes after a crash").isPositive();
      } else {
        assertThat(logBytes).as("write-ahead log bytes after an orderly close").isZero();
      }
      try (Datastore again = Datastore.open(dir.resolve(String.valueOf(crash)), options())) {
        ByteBuffer back = ByteBuffer.allocate(64 << 10);
        again.volume("v").read(0, back);
        assertThat(back.flip()).as("data after reopening, crash " + crash).isEqualTo(data.duplicate());
      }
    }
  }

  @Test
  void pathsThatAreNotDatastoresAreRefusedClearly() throws IOException {
    Path file = Files.writeString(tmp.resolve("file"), "x");
    assertThatThrownBy(() -> Datastore.open(file, options())).hasMessageContaining("is a file");
    assertThatThrownBy(() -> Datastore.create(file, options(), 0)).hasMessageContaining("is a file");
    assertThatThrownBy(() -> Datastore.open(tmp.resolve("none"), options())).hasMessageContaining("no datastore");
    Files.createDirectories(tmp.resolve("other"));
    Files.writeString(tmp.resolve("other/datastore.json"), "{\"format\":\"something-else\"}");
    assertThatThrownBy(() -> Datastore.open(tmp.resolve("other"), options())).hasMessageContaining("something-else");
  }

  @Test
  void volumeNamesAndSizesAreValidated() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      assertThatThrownBy(() -> ds.createVolume("a@b", 4096)).hasMessageContaining("bad volume name");
      assertThatThrownBy(() -> ds.createVolume("ok", 1000)).hasMessageContaining("multiple of 512");
      assertThatThrownBy(() -> ds.createVolume("ok", -512)).hasMessageContaining("positive");
      assertThatThrownBy(() -> ds.createVolume("ok", 65L << 40)).hasMessageContaining("64 TiB");
      ds.createVolume("ok", 64L << 40).close();
      assertThatThrownBy(() -> ds.createVolume("ok", 4096)).hasMessageContaining("already exists");
      assertThatThrownBy(() -> ds.volume("missing")).hasMessageContaining("no volume missing");
    }
  }

  @Test
  void zeroWritesStoreNothingAndCompressibleDataIsCompressed() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      Volume v = ds.createVolume("v", 64L << 20);
      v.write(0, ByteBuffer.allocate(4 << 20));
      assertThat(v.info().allocated()).isZero();
      byte[] text = "0123456789abcdef".repeat(1 << 16).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      v.write(8 << 20, ByteBuffer.wrap(text));
      assertThat(v.info().mapped()).isEqualTo(text.length);
      assertThat(v.info().allocated()).isLessThan(text.length / 10);
      v.write(16 << 20, random(1, 1 << 20));
      assertThat(v.info().allocated()).isGreaterThan(1 << 20);
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void deletingAVolumeReleasesItsSpaceAndItsHandles() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 0)) {
      Volume keep = ds.createVolume("keep", 8 << 20);
      Volume gone = ds.createVolume("gone", 8 << 20);
      keep.write(0, random(1, 3 << 20));
      gone.write(0, random(2, 5 << 20));
      ds.flush();
      long before = ds.info().allocated();
      ds.deleteVolume("gone");
      assertThat(before).isGreaterThan(keep.info().allocated());
      assertThat(ds.info().allocated()).isEqualTo(keep.info().allocated());
      assertThatThrownBy(() -> gone.read(0, ByteBuffer.allocate(1))).isInstanceOf(AlreadyClosedException.class);
      assertThat(ds.check().problems()).isEmpty();
      CleanerReport cleaned = ds.clean();
      assertThat(cleaned.segmentsCleaned()).isPositive();
      assertThat(ds.info().used()).isLessThan(5L << 20);
      byte[] back = new byte[3 << 20];
      keep.read(0, ByteBuffer.wrap(back));
      assertThat(back).isEqualTo(random(1, 3 << 20).array());
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void theCleanerReclaimsOverwrittenSpaceAndKeepsEveryLiveByte() throws IOException {
    Path dir = tmp.resolve("ds");
    byte[] expected = new byte[6 << 20];
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      Volume v = ds.createVolume("v", 6 << 20);
      Random r = new Random(3);
      for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 40; i++) {
          int n = 4096 * (1 + r.nextInt(64));
          int off = 4096 * r.nextInt((expected.length - n) / 4096);
          byte[] data = new byte[n];
          r.nextBytes(data);
          System.arraycopy(data, 0, expected, off, n);
          v.write(off, ByteBuffer.wrap(data));
        }
      }
      ds.flush();
      long usedBefore = ds.info().used();
      CleanerReport report = ds.clean();
      assertThat(report.segmentsCleaned()).isPositive();
      assertThat(ds.info().used()).isLessThan(usedBefore);
      assertThat(ds.check().problems()).isEmpty();
    }
    try (Datastore ds = Datastore.open(dir, options())) {
      byte[] back = new byte[expected.length];
      ds.volume("v").read(0, ByteBuffer.wrap(back));
      assertThat(back).isEqualTo(expected);
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void aFullDatastoreRefusesNewDataRaisesAlarmsAndKeepsWhatItHas() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 12L << 20)) {
      Volume v = ds.createVolume("v", 1L << 30);
      assertThat(ds.info().overcommitRatio()).isGreaterThan(80);
      int written = 0;
      OutOfSpaceException full = null;
      for (int i = 0; i < 64; i++) {
        try {
          v.write((long) i << 20, random(i, 1 << 20));
          written = i + 1;
        } catch (OutOfSpaceException e) {
          full = e;
          break;
        }
      }
      assertThat(full).as("writes past the capacity are refused").isNotNull();
      assertThat(full.getMessage()).contains("is full").contains("capacity");
      assertThat(written).isBetween(8, 12);
      assertThat(ds.info().alarms()).extracting(Alarm::level).containsExactly(Alarm.Level.CRITICAL);
      for (int i = 0; i < written; i++) {
        byte[] back = new byte[1 << 20];
        v.read((long) i << 20, ByteBuffer.wrap(back));
        assertThat(back).as("MiB %d", i).isEqualTo(random(i, 1 << 20).array());
      }
      assertThat(ds.check().problems()).isEmpty();
      // Freeing space (overwriting with zeros) lets writes proceed once the cleaner reclaims it.
      v.writeZeroes(0, 6L << 20, true);
      v.write(40L << 20, random(99, 1 << 20));
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void alarmsFollowTheThresholds() throws IOException {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options(), 20L << 20)) {
      ds.setCapacity(20L << 20, 20, 60);
      Volume v = ds.createVolume("v", 1L << 30);
      assertThat(ds.info().alarms()).isEmpty();
      v.write(0, random(1, 5 << 20));
      assertThat(ds.info().alarms()).extracting(Alarm::level).containsExactly(Alarm.Level.WARNING);
      v.write(5 << 20, random(2, 8 << 20));
      assertThat(ds.info().alarms()).extracting(Alarm::level).containsExactly(Alarm.Level.CRITICAL);
      assertThatThrownBy(() -> ds.setCapacity(1, 90, 80)).hasMessageContaining("warning");
    }
  }

  @Test
  void aFlippedBitIsReportedByReadsAndByCheck() throws IOException {
    Path dir = tmp.resolve("ds");
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      ds.createVolume("v", 8 << 20).write(0, random(5, 2 << 20));
    }
    Path segment;
    try (var files = Files.list(dir.resolve("segments"))) {
      segment = files.sorted().findFirst().orElseThrow();
    }
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, 300_000);
      b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
      ch.write(b, 300_000);
    }
    try (Datastore ds = Datastore.open(dir, options())) {
      Volume v = ds.volume("v");
      assertThatThrownBy(() -> v.read(0, ByteBuffer.allocate(2 << 20))).isInstanceOf(CorruptDataException.class)
          .hasMessageContaining("checksum").hasMessageContaining(segment.getFileName().toString());
      CheckReport report = ds.check();
      assertThat(report.problems()).hasSize(1);
      assertThat(report.problems().getFirst()).contains("checksum");
      byte[] unaffected = new byte[4096];
      v.read((2 << 20) - 4096, ByteBuffer.wrap(unaffected));
      assertThat(unaffected).isEqualTo(java.util.Arrays.copyOfRange(random(5, 2 << 20).array(), (2 << 20) - 4096, 2 << 20));
    }
  }
}
