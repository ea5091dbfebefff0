package io.vstore.blockstore.store;

/**
 * Where a record lives: its segment and its byte offset in that segment.
 *
 * @param segment segment id
 * @param offset byte offset of the record header in the segment file
 */
record RecordKey(long segment, long offset) implements Comparable<RecordKey> {

  /** Orders keys as RocksDB does: by segment, then offset. */
  @Override
  public int compareTo(RecordKey o) {
    int c = Long.compare(segment, o.segment);
    return c != 0 ? c : Long.compare(offset, o.offset);
  }

  /** Returns the RocksDB key of the record. */
  byte[] key() {
    return Keys.pair(segment, offset);
  }

  @Override
  public String toString() {
    return "record " + segment + ":" + offset;
  }
}
