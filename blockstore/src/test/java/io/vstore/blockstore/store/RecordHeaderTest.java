package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** Record headers: layout arithmetic, round trips at the size boundaries, and every kind of damage. */
final class RecordHeaderTest {
  private static final String WHERE = "record at offset 4096 of /ds/segments/0000000000000003.seg";

  /** Returns a header for {@code blocks} blocks whose chunks are compressed where {@code compressedChunk} says. */
  private static RecordHeader header(int blocks, java.util.function.IntPredicate compressedChunk, long seed) {
    Random r = new Random(seed);
    int chunks = RecordHeader.chunksFor(blocks);
    int[] lengths = new int[chunks];
    boolean[] compressed = new boolean[chunks];
    int[] crcs = new int[chunks];
    int stored = 0;
    for (int c = 0; c < chunks; c++) {
      int raw = RecordHeader.blocksIn(blocks, c) * RecordHeader.BLOCK;
      compressed[c] = compressedChunk.test(c);
      lengths[c] = compressed[c] ? 1 + r.nextInt(raw - raw / 16) : raw;
      crcs[c] = compressed[c] ? r.nextInt() : 0;
      stored += compressed[c] ? 0 : RecordHeader.blocksIn(blocks, c);
    }
    int[] blockCrcs = new int[stored];
    for (int i = 0; i < stored; i++) {
      blockCrcs[i] = r.nextInt();
    }
    return new RecordHeader(r.nextLong(), r.nextInt(1 << 30), blocks, r.nextLong(), lengths, compressed, crcs, blockCrcs);
  }

  private static ByteBuffer bytes(RecordHeader h) {
    ByteBuffer b = ByteBuffer.allocate(h.headerBytes() + 16);
    h.write(b);
    assertThat(b.position()).isEqualTo(h.headerBytes());
    return b.flip();
  }

  private static void assertSame(RecordHeader read, RecordHeader written) {
    assertThat(read).usingRecursiveComparison().isEqualTo(written);
  }

  @Test
  void headersRoundTripAtTheSizeBoundaries() throws IOException {
    for (int blocks : new int[] {1, 2, 15, 16, 17, 31, 32, 255, RecordHeader.MAX_BLOCKS}) {
      for (int pattern = 0; pattern < 3; pattern++) {
        int p = pattern;
        RecordHeader h = header(blocks, c -> p == 1 || p == 2 && c % 2 == 1, blocks * 10L + pattern);
        RecordHeader read = RecordHeader.read(bytes(h), () -> WHERE);
        assertSame(read, h);
        assertThat(read.headerBytes()).isEqualTo(RecordHeader.FIXED_BYTES + 8 * RecordHeader.chunksFor(blocks)
            + 4 * h.blockCrcs().length);
        assertThat(read.storedBytes()).isEqualTo(read.headerBytes() + read.payloadBytes());
      }
    }
    assertThat(bytes(header(RecordHeader.MAX_BLOCKS, c -> false, 1)).remaining())
        .isEqualTo(RecordHeader.FIXED_BYTES + 8 * RecordHeader.MAX_CHUNKS + 4 * RecordHeader.MAX_BLOCKS)
        .isEqualTo(RecordHeader.MAX_HEADER_BYTES);
  }

  @Test
  void chunkAndBlockTableArithmetic() {
    RecordHeader h = header(40, c -> c == 1, 9); // chunks of 16, 16, 8 blocks; the middle one compressed
    assertThat(RecordHeader.chunksFor(40)).isEqualTo(3);
    assertThat(RecordHeader.blocksIn(40, 2)).isEqualTo(8);
    assertThat(h.chunkRawBytes(2)).isEqualTo(8 * 4096);
    assertThat(h.blockCrcs()).hasSize(24);
    assertThat(h.blockCrcIndex(0)).isZero();
    assertThat(h.blockCrcIndex(1)).isEqualTo(16);
    assertThat(h.blockCrcIndex(2)).isEqualTo(16); // the compressed chunk has no block checksums
    assertThat(h.chunkOffset(0)).isEqualTo(h.headerBytes());
    assertThat(h.chunkOffset(2)).isEqualTo(h.headerBytes() + 16 * 4096 + h.chunkLengths()[1]);
    assertThat(h.payloadBytes()).isEqualTo(24 * 4096 + h.chunkLengths()[1]);
  }

  @Test
  void everyBitFlippedInAHeaderIsDetected() {
    for (int blocks : new int[] {1, 17}) {
      RecordHeader h = header(blocks, c -> c == 0, blocks);
      ByteBuffer good = bytes(h);
      for (int bit = 0; bit < 8 * h.headerBytes(); bit++) {
        ByteBuffer b = ByteBuffer.allocate(good.remaining()).put(good.duplicate()).flip();
        b.put(bit / 8, (byte) (b.get(bit / 8) ^ (1 << (bit % 8))));
        int at = bit / 8;
        assertThatThrownBy(() -> RecordHeader.read(b, () -> WHERE)).as("%d blocks, bit %d", blocks, bit)
            .isInstanceOfAny(CorruptDataException.class, UnsupportedFormatException.class)
            .hasMessageContaining(WHERE)
            .satisfies(e -> {
              if (at >= 4 && at < 6) { // the version
                assertThat(e).isInstanceOf(UnsupportedFormatException.class).hasMessageStartingWith("unsupported vstore-record: ");
              } else {
                assertThat(e).isInstanceOf(CorruptDataException.class).hasMessageStartingWith("bad record: ");
              }
            });
      }
    }
  }

  @Test
  void truncatedHeadersAreCorruption() {
    RecordHeader h = header(20, c -> c == 1, 3);
    ByteBuffer good = bytes(h);
    for (int n = 0; n < h.headerBytes(); n++) {
      ByteBuffer cut = good.duplicate().limit(n);
      assertThatThrownBy(() -> RecordHeader.read(cut, () -> WHERE)).as("%d bytes", n)
          .isInstanceOf(CorruptDataException.class).hasMessageStartingWith("bad record: " + WHERE)
          .hasMessageContaining("truncated");
    }
  }

  /** Rewrites field {@code at} of a valid header and fixes its checksum, to reach the checks behind it. */
  private static ByteBuffer withField(RecordHeader h, int at, int value) {
    ByteBuffer b = bytes(h).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(at, value);
    CRC32C crc = new CRC32C();
    crc.update(b.duplicate().limit(44).position(0));
    crc.update(b.duplicate().limit(h.headerBytes()).position(48));
    return b.putInt(44, (int) crc.getValue());
  }

  @Test
  void inconsistentFieldsAreCorruptionEvenWithAGoodChecksum() {
    RecordHeader h = header(1, c -> false, 4);
    assertThatThrownBy(() -> RecordHeader.read(withField(h, 24, 0), () -> WHERE))
        .isInstanceOf(CorruptDataException.class).hasMessage("bad record: " + WHERE + " has 0 blocks in 1 chunks");
    assertThatThrownBy(() -> RecordHeader.read(withField(h, 24, RecordHeader.MAX_BLOCKS + 1), () -> WHERE))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("has 257 blocks");
    assertThatThrownBy(() -> RecordHeader.read(withField(h, 28, 4097), () -> WHERE))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("payload 4097 bytes, chunk table sums to 4096");
    assertThatThrownBy(() -> RecordHeader.read(withField(h, 48, 4000), () -> WHERE))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("chunk 0 has stored length 4000");
  }
}
