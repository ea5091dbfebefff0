package io.vstore.blockstore.store;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A snapshot's catalog entry (JSON under {@code n/<id>}).
 *
 * @param id map id of the snapshot's delta map
 * @param volume id of the volume it belongs to
 * @param name user-visible name, unique per volume
 * @param generation the volume generation it captures: entries born at or before it are its content
 * @param created creation time, ISO-8601
 */
record SnapshotRecord(long id, long volume, String name, long generation, String created) {
  private static final ObjectMapper JSON = new ObjectMapper()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  byte[] encode() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static SnapshotRecord decode(byte[] value) throws IOException {
    return JSON.readValue(value, SnapshotRecord.class);
  }
}
