package io.vstore.blockstore.store;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A volume's catalog entry as committed in RocksDB (JSON under {@code v/<id>}).
 *
 * @param id internal id, the prefix of its map keys
 * @param name user-visible name, unique in the datastore
 * @param uuid identity used in change ids
 * @param size virtual size in bytes
 * @param created creation time, ISO-8601
 * @param generation last committed generation
 * @param allocated bytes of live records
 * @param mappedBlocks 4 KiB blocks the head maps to data
 * @param parentVolume id of the volume this is a linked clone of, or 0
 * @param parentSnapshot id of the snapshot of {@code parentVolume} it was cloned from, or 0
 * @param baseMap id of the map holding the parent's content copied up by a flatten, or 0
 */
record VolumeRecord(long id, String name, String uuid, long size, String created, long generation, long allocated,
    long mappedBlocks, long parentVolume, long parentSnapshot, long baseMap) {
  private static final ObjectMapper JSON = new ObjectMapper()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  byte[] encode() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static VolumeRecord decode(byte[] value) throws IOException {
    return JSON.readValue(value, VolumeRecord.class);
  }
}
