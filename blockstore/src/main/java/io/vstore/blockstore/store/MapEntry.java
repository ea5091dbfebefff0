package io.vstore.blockstore.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One extent of a volume's block map: {@code length} blocks starting at block {@code start} read
 * from a record, or read as zeros.
 *
 * <pre>
 * key: map id and the entry's end block (its first block after it), both big-endian
 * value layout (little-endian, 33 bytes):
 *   0  u8  kind (1 = DATA, 2 = ZERO)
 *   1  u32 length in blocks
 *   5  u64 segment id          (DATA only, else 0)
 *  13  u64 record offset       (DATA only, else 0)
 *  21  u32 first record block  (which block of the record holds block {@code start})
 *  25  u64 generation that wrote the extent
 * </pre>
 *
 * @param start first block
 * @param length number of blocks, positive
 * @param kind DATA or ZERO
 * @param record where the data lives, null for ZERO
 * @param recordBlock index inside the record of the block holding {@code start}
 * @param generation the volume generation in which this extent was written
 */
record MapEntry(long start, int length, Kind kind, RecordKey record, int recordBlock, long generation) {
  static final int VALUE_BYTES = 33;

  /** What a map entry maps to. */
  enum Kind {
    DATA,
    ZERO
  }

  MapEntry {
    assert length > 0 : "empty map entry at block " + start;
    assert (kind == Kind.DATA) == (record != null);
  }

  /** Returns the first block after the extent. */
  long end() {
    return start + length;
  }

  /** Returns the part of this extent covering {@code [from, to)}, which must lie inside it. */
  MapEntry slice(long from, long to) {
    assert from >= start && to <= end() && from < to;
    int shift = (int) (from - start);
    return new MapEntry(from, (int) (to - from), kind, record, kind == Kind.DATA ? recordBlock + shift : 0, generation);
  }

  /** Returns this extent pointing at {@code moved}, a copy of its record. */
  MapEntry relocated(RecordKey moved) {
    return new MapEntry(start, length, kind, moved, recordBlock, generation);
  }

  /** Encodes the value stored under the entry's key. */
  byte[] encodeValue() {
    ByteBuffer b = ByteBuffer.allocate(VALUE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) (kind == Kind.DATA ? 1 : 2)).putInt(length);
    b.putLong(record == null ? 0 : record.segment()).putLong(record == null ? 0 : record.offset());
    b.putInt(recordBlock).putLong(generation);
    return b.array();
  }

  /** Decodes the value stored under the key of block {@code end}, the entry's first block after it. */
  static MapEntry decodeEnding(long end, byte[] value) {
    if (value.length != VALUE_BYTES) {
      throw new IllegalStateException("map entry ending at block " + end + " has " + value.length + " bytes, expected "
          + VALUE_BYTES);
    }
    ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
    byte kindCode = b.get();
    int length = b.getInt();
    if (length <= 0 || length > end) {
      throw new IllegalStateException("map entry ending at block " + end + " has length " + length);
    }
    long start = end - length;
    long segment = b.getLong();
    long offset = b.getLong();
    int recordBlock = b.getInt();
    long generation = b.getLong();
    return switch (kindCode) {
      case 1 -> new MapEntry(start, length, Kind.DATA, new RecordKey(segment, offset), recordBlock, generation);
      case 2 -> new MapEntry(start, length, Kind.ZERO, null, 0, generation);
      // Reading an unknown kind as zeros would hand back wrong data without a word.
      default -> throw new IllegalStateException("map entry ending at block " + end + " has unknown kind " + kindCode);
    };
  }
}
