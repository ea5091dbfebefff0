package io.vstore.blockstore.store;

/**
 * Where a record lives: its segment and its byte offset in that segment.
 *
 * @param segment segment id
 * @param offset byte offset of the record header in the segment file
 */
record RecordKey(long segment, long offset) {

  /** Returns the RocksDB key of the record. */
  byte[] key() {
    return Keys.pair(segment, offset);
  }

  @Override
  public String toString() {
    return "record " + segment + ":" + offset;
  }
}
