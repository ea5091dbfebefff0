package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;
import io.vstore.blockstore.testing.ModelRun;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Records encoded, appended and read back: every block range of records at the size boundaries
 * (one block, a chunk, a chunk and a block, 1 MiB), compressed and stored, through every read
 * path; damage to data or header, and truncation, read as corruption naming the record.
 */
final class RecordCodecTest {
  private static final int BLOCK = RecordHeader.BLOCK;
  private static final UUID DATASTORE = new UUID(1, 2);
  @TempDir Path tmp;

  /** Returns {@code blocks} blocks: random (incompressible) or text (compressible). */
  private static byte[] data(int blocks, boolean compressible, long seed) {
    byte[] b = new byte[blocks * BLOCK];
    if (compressible) {
      byte[] line = ("block data " + seed + " compresses well\n").getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < b.length; i++) {
        b[i] = line[i % line.length];
      }
    } else {
      new Random(seed).nextBytes(b);
    }
    return b;
  }

  private SegmentFiles segments(long committedNextId) throws IOException {
    return new SegmentFiles(tmp.resolve("segments"), DATASTORE, 256L << 20, committedNextId, ChannelOpener.DEFAULT,
        id -> true);
  }

  /** Encodes and appends a record of {@code data}; returns its key. */
  private static RecordKey append(SegmentFiles s, byte[] data, boolean tryCompress) throws IOException {
    ByteBuffer out = RecordCodec.borrow();
    try {
      RecordCodec.encode(ByteBuffer.wrap(data), data.length / BLOCK, 5, 100, 3, out, tryCompress);
      return s.append(out);
    } finally {
      RecordCodec.giveBack(out);
    }
  }

  private static byte[] read(SegmentFiles s, RecordKey key, int first, int count) throws IOException {
    ByteBuffer dst = ByteBuffer.allocate(count * BLOCK);
    RecordCodec.readBlocks(s, key, 5, 100, first, count, dst);
    assertThat(dst.hasRemaining()).isFalse();
    return dst.array();
  }

  private static byte[] slice(byte[] data, int first, int count) {
    return Arrays.copyOfRange(data, first * BLOCK, (first + count) * BLOCK);
  }

  @Test
  void everyBlockRangeReadsBackAtTheSizeBoundaries() throws IOException {
    int[] sizes = {1, 4, 16, 17, RecordHeader.MAX_BLOCKS};
    RecordKey[][] keys = new RecordKey[sizes.length][2];
    long next;
    try (SegmentFiles s = segments(1)) {
      for (int i = 0; i < sizes.length; i++) {
        for (int c = 0; c < 2; c++) {
          keys[i][c] = append(s, data(sizes[i], c == 1, i), c == 1);
        }
      }
      for (int i = 0; i < sizes.length; i++) {
        for (int c = 0; c < 2; c++) {
          RecordHeader h = RecordCodec.readHeader(s, keys[i][c]); // from memory: not yet synced
          assertThat(h.blocks()).isEqualTo(sizes[i]);
          assertThat(h.compressed()[0]).as("compressed").isEqualTo(c == 1);
          assertThat(h.volume()).isEqualTo(5);
          assertThat(h.firstBlock()).isEqualTo(100);
          assertThat(h.generation()).isEqualTo(3);
        }
      }
      s.sync();
      next = s.nextId();
    }
    try (SegmentFiles s = segments(next)) { // nothing cached, nothing in memory: every path reads the file
      for (int i = 0; i < sizes.length; i++) {
        for (int c = 0; c < 2; c++) {
          byte[] expected = data(sizes[i], c == 1, i);
          int n = sizes[i];
          int[][] ranges = {{0, 1}, {0, n}, {n - 1, 1}, {n / 2, n - n / 2}, {Math.min(15, n - 1), Math.min(2, n - Math.min(15, n - 1))}};
          for (int[] range : ranges) {
            assertThat(read(s, keys[i][c], range[0], range[1])).as("%d blocks, compressed %s, blocks %d+%d", n, c == 1,
                range[0], range[1]).isEqualTo(slice(expected, range[0], range[1]));
          }
        }
      }
    }
  }

  static LongStream seeds() {
    return ModelRun.seeds(6);
  }

  /**
   * Records of random sizes whose blocks are random or compressible (so records start at every
   * offset within a page), read back in random block ranges from a fresh segment set, whose header
   * cache is empty: small reads near a record's start take the combined header-and-data read, whose
   * span ends at a page boundary and may fall short of a larger header or a compressed chunk.
   */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void uncachedReadsOfRecordsAtEveryOffsetMatchAModel(long seed) {
    ModelRun.run(seed, run -> {
      Random r = run.random();
      Path dir = tmp.resolve("model-" + seed);
      List<RecordKey> keys = new ArrayList<>();
      List<byte[]> model = new ArrayList<>();
      long next;
      try (SegmentFiles s = new SegmentFiles(dir, DATASTORE, 256L << 20, 1, ChannelOpener.DEFAULT, id -> true)) {
        for (int i = 0; i < 300; i++) {
          int blocks = r.nextInt(10) == 0 ? 1 + r.nextInt(RecordHeader.MAX_BLOCKS) : 1 + r.nextInt(20);
          byte[] data = new byte[blocks * BLOCK];
          for (int b = 0; b < blocks; b++) {
            System.arraycopy(data(1, r.nextInt(3) > 0, r.nextLong()), 0, data, b * BLOCK, BLOCK);
          }
          run.step(i, "append " + blocks + " blocks");
          keys.add(append(s, data, r.nextInt(4) > 0));
          model.add(data);
        }
        s.sync();
        next = s.nextId();
      }
      SegmentFiles s = new SegmentFiles(dir, DATASTORE, 256L << 20, next, ChannelOpener.DEFAULT, id -> true);
      try {
        for (int step = 0; step < 600; step++) {
          if (r.nextInt(100) == 0) {
            s.close(); // forgets every cached header
            s = new SegmentFiles(dir, DATASTORE, 256L << 20, next, ChannelOpener.DEFAULT, id -> true);
          }
          int i = r.nextInt(keys.size());
          int blocks = model.get(i).length / BLOCK;
          int first = r.nextInt(4) > 0 ? r.nextInt(Math.min(blocks, RecordCodec.COMBINED_READ_BLOCKS)) : r.nextInt(blocks);
          int count = 1 + r.nextInt(Math.min(blocks - first, first < RecordCodec.COMBINED_READ_BLOCKS ? 4 : 40));
          run.step(step, "read record " + i + " at " + keys.get(i).offset() + " (" + blocks + " blocks), blocks " + first
              + "+" + count);
          assertThat(read(s, keys.get(i), first, count)).isEqualTo(slice(model.get(i), first, count));
        }
      } finally {
        s.close();
      }
    });
  }

  @Test
  void compressionIsKeptOnlyWhenItPays() throws IOException {
    try (SegmentFiles s = segments(1)) {
      RecordKey random = append(s, data(32, false, 1), true);
      RecordKey text = append(s, data(32, true, 1), true);
      RecordKey textStored = append(s, data(32, true, 1), false);
      RecordHeader r = RecordCodec.readHeader(s, random);
      RecordHeader t = RecordCodec.readHeader(s, text);
      RecordHeader ts = RecordCodec.readHeader(s, textStored);
      assertThat(r.compressed()).containsOnly(false);
      assertThat(r.blockCrcs()).hasSize(32);
      assertThat(t.compressed()).containsOnly(true);
      assertThat(t.blockCrcs()).isEmpty();
      assertThat(t.storedBytes()).isLessThan(ts.storedBytes() / 4);
      assertThat(ts.storedBytes()).isEqualTo(ts.headerBytes() + 32 * BLOCK);
    }
  }

  @Test
  void outOfRangeBlocksAreABadMap() throws IOException {
    try (SegmentFiles s = segments(1)) {
      RecordKey key = append(s, data(4, false, 1), true);
      s.sync();
      assertThatThrownBy(() -> read(s, key, 3, 2)).isInstanceOf(CorruptDataException.class)
          .hasMessage("bad map: blocks 3..5 of record at offset 64 of " + s.path(1) + " which holds 4");
      assertThatThrownBy(() -> read(s, key, -1, 1)).isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad map: blocks -1..0");
    }
  }

  /** Flips one bit at {@code offset} of segment 1's file. */
  private void flip(long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(tmp.resolve("segments/0000000000000001.seg"), StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, offset);
      ch.write(one.put(0, (byte) (one.get(0) ^ 0x04)).clear(), offset);
    }
  }

  @Test
  void damagedDataIsCorruptionNamingTheRecordAndBlock() throws IOException {
    RecordKey stored;
    RecordKey compressed;
    RecordHeader storedHeader;
    RecordHeader compressedHeader;
    long next;
    try (SegmentFiles s = segments(1)) {
      stored = append(s, data(20, false, 1), true);
      compressed = append(s, data(20, true, 2), true);
      s.sync();
      storedHeader = RecordCodec.readHeader(s, stored);
      compressedHeader = RecordCodec.readHeader(s, compressed);
      next = s.nextId();
    }
    flip(stored.offset() + storedHeader.chunkOffset(1) + 2 * BLOCK + 100); // block 18: chunk 1, block 2
    flip(compressed.offset() + compressedHeader.chunkOffset(0) + 10);
    try (SegmentFiles s = segments(next)) {
      String where = "record at offset " + stored.offset() + " of " + s.path(1);
      assertThat(read(s, stored, 0, 18)).isEqualTo(slice(data(20, false, 1), 0, 18)); // the blocks before are fine
      assertThatThrownBy(() -> read(s, stored, 17, 2)).isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad record: " + where + " block 18 checksum");
      assertThatThrownBy(() -> read(s, stored, 0, 20)).isInstanceOf(CorruptDataException.class)
          .hasMessageContaining(" block 18 checksum");
      assertThatThrownBy(() -> read(s, compressed, 0, 1)).isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad record: record at offset " + compressed.offset() + " of " + s.path(1)
              + " chunk 0 checksum");
      assertThat(read(s, compressed, 16, 4)).isEqualTo(slice(data(20, true, 2), 16, 4)); // chunk 1 is intact
    }
  }

  @Test
  void aDamagedRecordHeaderIsCorruptionOnEveryReadPath() throws IOException {
    RecordKey key;
    long next;
    try (SegmentFiles s = segments(1)) {
      key = append(s, data(2, false, 1), true);
      s.sync();
      next = s.nextId();
    }
    flip(key.offset() + 30); // inside the payload length field
    try (SegmentFiles s = segments(next)) {
      String where = "record at offset " + key.offset() + " of " + s.path(1);
      assertThatThrownBy(() -> read(s, key, 0, 1)).as("combined header and data read")
          .isInstanceOf(CorruptDataException.class).hasMessageStartingWith("bad record: " + where + " header checksum");
      assertThatThrownBy(() -> RecordCodec.readHeader(s, key)).isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad record: " + where + " header checksum");
    }
  }

  @Test
  void aTruncatedRecordIsCorruption() throws IOException {
    RecordKey key;
    long next;
    try (SegmentFiles s = segments(1)) {
      key = append(s, data(16, false, 1), true);
      s.sync();
      next = s.nextId();
    }
    Path file = tmp.resolve("segments/0000000000000001.seg");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(key.offset() + RecordHeader.MAX_HEADER_BYTES + 8 * BLOCK);
    }
    try (SegmentFiles s = segments(next)) {
      assertThat(read(s, key, 0, 4)).isEqualTo(slice(data(16, false, 1), 0, 4));
      assertThatThrownBy(() -> read(s, key, 0, 16)).isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad segment: " + file + " ends before offset");
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(key.offset() + 20);
    }
    try (SegmentFiles s = segments(next)) {
      assertThatThrownBy(() -> read(s, key, 0, 1)).isInstanceOf(CorruptDataException.class)
          .hasMessageStartingWith("bad record: record at offset " + key.offset() + " of " + file + " is truncated (20 header bytes)");
    }
  }
}
