package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.UUID;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The format checks of segment headers, record headers and the datastore descriptor: data from a
 * newer vstore is reported as unsupported with its version and the supported range, damage as
 * corruption naming the file, and the bytes of today's version 1 stay what they were.
 */
final class FormatVersionTest {
  @TempDir Path tmp;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO);
  }

  private static int crc(ByteBuffer b, int from, int to) {
    CRC32C c = new CRC32C();
    c.update(b.duplicate().limit(to).position(from));
    return (int) c.getValue();
  }

  // ---- segment headers ----

  @Test
  void segmentHeaderVersion1KeepsItsLayout() {
    UUID uuid = new UUID(0x0102030405060708L, 0x1112131415161718L);
    ByteBuffer h = SegmentHeader.of(0x2a, uuid).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(h.limit()).isEqualTo(64);
    byte[] magic = new byte[8];
    h.get(0, magic);
    assertThat(new String(magic, StandardCharsets.US_ASCII)).isEqualTo("VSTORSEG");
    assertThat(h.getInt(8)).isEqualTo(1);
    assertThat(h.getInt(12)).isZero();
    assertThat(h.getLong(16)).isEqualTo(0x2a);
    assertThat(h.getLong(24)).isEqualTo(uuid.getMostSignificantBits());
    assertThat(h.getLong(32)).isEqualTo(uuid.getLeastSignificantBits());
    for (int i = 40; i < 60; i++) {
      assertThat(h.get(i)).as("reserved byte %d", i).isZero();
    }
    assertThat(h.getInt(60)).isEqualTo(crc(h, 0, 60));
  }

  @Test
  void segmentHeaderChecksReportEachKindOfProblem() throws IOException {
    UUID uuid = UUID.randomUUID();
    Path p = tmp.resolve("0000000000000007.seg");
    SegmentHeader.check(SegmentHeader.of(7, uuid), p, 7, uuid);

    ByteBuffer newer = SegmentHeader.of(7, uuid).order(ByteOrder.LITTLE_ENDIAN);
    newer.putInt(8, 2).putInt(60, crc(newer, 0, 60));
    assertThatThrownBy(() -> SegmentHeader.check(newer, p, 7, uuid)).isInstanceOf(UnsupportedFormatException.class)
        .isNotInstanceOf(CorruptDataException.class)
        .hasMessage("unsupported vstore-segment: " + p + " has version 2 (supported 1-1); it was written by a newer vstore")
        .satisfies(e -> assertThat(((UnsupportedFormatException) e).version()).isEqualTo(2));
    // A newer layout may checksum elsewhere: still unsupported, not corrupt, and not a crash's leftover.
    newer.putInt(60, 0);
    assertThatThrownBy(() -> SegmentHeader.check(newer, p, 7, uuid)).isInstanceOf(UnsupportedFormatException.class);
    assertThat(SegmentHeader.complete(newer)).isTrue();

    for (int i = 8; i < 64; i++) {
      ByteBuffer flipped = SegmentHeader.of(7, uuid);
      flipped.put(i, (byte) (flipped.get(i) ^ 0x10));
      int at = i;
      assertThatThrownBy(() -> SegmentHeader.check(flipped, p, 7, uuid)).as("byte %d flipped", at)
          .isInstanceOf(at == 8 || at == 9 || at == 10 || at == 11 ? IOException.class : CorruptDataException.class)
          .hasMessageContaining(p.toString());
      if (i >= 12) {
        assertThatThrownBy(() -> SegmentHeader.check(flipped, p, 7, uuid)).as("byte %d flipped", at)
            .hasMessageStartingWith("bad segment: " + p + " header checksum");
        assertThat(SegmentHeader.complete(flipped)).isFalse();
      }
    }

    ByteBuffer notOurs = ByteBuffer.wrap("%PDF-1.7 and whatever follows, long enough for a header....".repeat(2)
        .getBytes(StandardCharsets.US_ASCII)).limit(64);
    assertThatThrownBy(() -> SegmentHeader.check(notOurs, p, 7, uuid)).isInstanceOf(CorruptDataException.class)
        .hasMessageStartingWith("bad segment: " + p + " is not a vstore segment (magic 0x255044462d312e37");

    assertThatThrownBy(() -> SegmentHeader.check(SegmentHeader.of(8, uuid), p, 7, uuid))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("header says segment 8").hasMessageContaining(
            "expected segment 7 of datastore " + uuid);
    assertThatThrownBy(() -> SegmentHeader.check(SegmentHeader.of(7, UUID.randomUUID()), p, 7, uuid))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("expected segment 7 of datastore " + uuid);
    assertThatThrownBy(() -> SegmentHeader.check(SegmentHeader.of(7, uuid).limit(20), p, 7, uuid))
        .isInstanceOf(CorruptDataException.class).hasMessage("bad segment: " + p + " is shorter than its header (20 of 64 bytes)");
  }

  /** Writes a datastore with one volume and data in one segment; returns that segment's path. */
  private Path datastoreWithOneSegment(Path dir) throws IOException {
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      var v = ds.createVolume("v", 1 << 20);
      byte[] data = new byte[64 << 10];
      new Random(1).nextBytes(data);
      v.write(0, ByteBuffer.wrap(data));
      v.flush();
      assertThat(ds.segments().sizes()).hasSize(1);
      return ds.segments().path(ds.segments().sizes().firstKey());
    }
  }

  private static void patchSegmentHeader(Path segment, int at, int value, boolean fixChecksum) throws IOException {
    byte[] bytes = Files.readAllBytes(segment);
    ByteBuffer h = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
    if (fixChecksum) {
      h.putInt(60, crc(h, 0, 60));
    }
    Files.write(segment, bytes);
  }

  @Test
  void aSegmentFromANewerVstoreIsUnsupportedWhenRead() throws IOException {
    Path dir = tmp.resolve("ds");
    Path segment = datastoreWithOneSegment(dir);
    patchSegmentHeader(segment, 8, 3, true);
    try (Datastore ds = Datastore.open(dir, options())) {
      assertThatThrownBy(() -> ds.volume("v").read(0, ByteBuffer.allocate(4096)))
          .isInstanceOf(UnsupportedFormatException.class)
          .hasMessageStartingWith("unsupported vstore-segment: " + segment + " has version 3 (supported 1-1)");
      assertThat(segment).exists();
      assertThat(ds.check().problems()).contains(
          "unsupported vstore-segment: " + segment + " has version 3 (supported 1-1); it was written by a newer vstore");
    }
  }

  @Test
  void aDamagedSegmentHeaderIsCheckedWhenTheSegmentIsOpened() throws IOException {
    Path dir = tmp.resolve("ds");
    Path segment = datastoreWithOneSegment(dir);
    patchSegmentHeader(segment, 40, 0x5a5a, false); // a reserved byte flipped: only the checksum sees it
    try (Datastore ds = Datastore.open(dir, options())) {
      assertThatThrownBy(() -> ds.volume("v").read(0, ByteBuffer.allocate(4096)))
          .isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad segment: " + segment + " header checksum");
      assertThat(ds.check().problems()).anySatisfy(p -> assertThat(p).startsWith("bad segment: " + segment));
    }
  }

  // ---- record headers ----

  private static ByteBuffer recordHeader() {
    RecordHeader h = new RecordHeader(3, 16, 1, 9, new int[] {4096}, new boolean[] {false}, new int[] {0},
        new int[] {0x1234});
    ByteBuffer b = ByteBuffer.allocate(h.headerBytes()).order(ByteOrder.LITTLE_ENDIAN);
    h.write(b);
    return b.flip();
  }

  @Test
  void recordHeaderVersion1KeepsItsLayout() throws IOException {
    ByteBuffer b = recordHeader();
    assertThat(b.getInt(0)).isEqualTo(0x31434552); // "REC1"
    assertThat(b.getShort(4)).isEqualTo((short) 1);
    assertThat(b.getShort(6)).isEqualTo((short) 1);
    assertThat(b.getLong(8)).isEqualTo(3);
    assertThat(b.getLong(16)).isEqualTo(16);
    assertThat(b.getInt(24)).isEqualTo(1);
    assertThat(b.getInt(28)).isEqualTo(4096);
    assertThat(b.getLong(32)).isEqualTo(9);
    CRC32C c = new CRC32C();
    c.update(b.duplicate().limit(44).position(0));
    c.update(b.duplicate().position(48));
    assertThat(b.getInt(44)).isEqualTo((int) c.getValue());
    assertThat(RecordHeader.read(b, () -> "test record").blockCrcs()).containsExactly(0x1234);
  }

  @Test
  void aRecordFromANewerVstoreIsUnsupported() {
    ByteBuffer b = recordHeader();
    b.putShort(4, (short) 3);
    assertThatThrownBy(() -> RecordHeader.read(b, () -> "record at offset 64 of /x/1.seg"))
        .isInstanceOf(UnsupportedFormatException.class)
        .hasMessageStartingWith("unsupported vstore-record: record at offset 64 of /x/1.seg has version 3 (supported 1-2)");
  }

  @Test
  void aRecordWithAnotherMagicIsNotARecord() {
    ByteBuffer b = recordHeader();
    b.put(0, (byte) 'X');
    assertThatThrownBy(() -> RecordHeader.read(b, () -> "record at offset 64 of /x/1.seg"))
        .isInstanceOf(CorruptDataException.class)
        .hasMessageStartingWith("bad record: record at offset 64 of /x/1.seg is not a vstore record (magic 0x58454331");
  }

  // ---- the descriptor ----

  @Test
  void aDescriptorFromANewerVstoreIsUnsupported() throws IOException {
    Path dir = tmp.resolve("ds");
    Datastore.create(dir, options(), 0).close();
    Path file = dir.resolve(DatastoreDescriptor.FILE);
    String json = Files.readString(file);
    assertThat(json).contains("\"format\" : \"vstore-datastore\"").contains("\"version\" : 1");
    Files.writeString(file, json.replace("\"version\" : 1", "\"version\" : 5"));
    assertThatThrownBy(() -> Datastore.open(dir, options())).isInstanceOf(UnsupportedFormatException.class)
        .hasMessage("unsupported vstore-datastore: " + file + " has version 5 (supported 1-2); it was written by a newer vstore");
    Files.writeString(file, json.replace("\"format\" : \"vstore-datastore\"", "\"format\" : \"vstore-inventory\""));
    assertThatThrownBy(() -> Datastore.open(dir, options())).isInstanceOf(DatastoreException.class)
        .hasMessage("bad datastore: " + file + " is not a vstore datastore descriptor (format vstore-inventory, expected "
            + "vstore-datastore)");
    Files.writeString(file, json);
    Datastore.open(dir, options()).close();
  }

  @Test
  void versionRangesAreChecked() throws IOException {
    FormatCodec codec = new FormatCodec("vstore-test", "test", "TEST", 2, 4);
    assertThat(codec.checkVersion(2, () -> "f")).isEqualTo(2);
    assertThat(codec.checkVersion(4, () -> "f")).isEqualTo(4);
    assertThatThrownBy(() -> codec.checkVersion(1, () -> "f")).isInstanceOf(UnsupportedFormatException.class)
        .hasMessage("unsupported vstore-test: f has version 1 (supported 2-4)");
    assertThatThrownBy(() -> codec.checkVersion(5, () -> "f")).isInstanceOf(UnsupportedFormatException.class)
        .hasMessage("unsupported vstore-test: f has version 5 (supported 2-4); it was written by a newer vstore");
    assertThatThrownBy(() -> new FormatCodec("x", "x", "X", 3, 2)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("3-2");
  }
}
