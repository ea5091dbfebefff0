package io.vstore.blockstore.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The reference state of one record: which volume owns it, which blocks it holds, how many bytes
 * it occupies in its segment and how many block references the owner's maps (head, snapshot
 * deltas, base) hold on it; a block shared by the head and a snapshot after a revert counts twice.
 * A record whose reference count reaches zero is dead space for the cleaner.
 *
 * <pre>
 * value layout (little-endian, 28 bytes):
 *   0 u64 volume id   8 u64 first block   16 u32 blocks   20 u32 stored bytes   24 u32 live blocks
 * </pre>
 */
record RecordState(long volume, long firstBlock, int blocks, int storedBytes, int liveBlocks) {
  static final int VALUE_BYTES = 28;

  /** Returns this state with {@code delta} more live blocks. */
  RecordState withLive(int delta) {
    int live = liveBlocks + delta;
    assert live >= 0 : "record references " + live;
    return new RecordState(volume, firstBlock, blocks, storedBytes, live);
  }

  byte[] encode() {
    return ByteBuffer.allocate(VALUE_BYTES).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(volume).putLong(firstBlock).putInt(blocks).putInt(storedBytes).putInt(liveBlocks).array();
  }

  static RecordState decode(byte[] value) {
    if (value.length != VALUE_BYTES) {
      throw new IllegalStateException("record state has " + value.length + " bytes, expected " + VALUE_BYTES);
    }
    ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
    return new RecordState(b.getLong(), b.getLong(), b.getInt(), b.getInt(), b.getInt());
  }
}
