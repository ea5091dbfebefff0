package io.vstore.blockstore.store;

import com.fasterxml.jackson.annotation.JsonInclude;
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
 * @param incoming set while the volume is being built by a transplant from another datastore
 *     ({@link VolumeTransplant}): hidden, not openable by name; null (absent from the JSON) otherwise
 */
record VolumeRecord(long id, String name, String uuid, long size, String created, long generation, long allocated,
    long mappedBlocks, long parentVolume, long parentSnapshot, long baseMap,
    @JsonInclude(JsonInclude.Include.NON_NULL) Incoming incoming) {
  private static final ObjectMapper JSON = new ObjectMapper()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /**
   * What marks a volume a transplant is still building (the {@code incoming} field).
   *
   * @param sourceDatastore uuid of the datastore the volume comes from
   * @param sourceName the volume's name there
   * @param claim who may resume the transplant after a restart (a mover's job id), or null: then
   *     the next open of the datastore deletes the volume
   * @param birth the generation the transplant's writes are born in now: the generation of the
   *     snapshot being copied, or one past the newest snapshot's while the head is copied
   * @param copyingHead whether every snapshot is copied and the head is being copied
   * @param started when the transplant began, ISO-8601
   */
  record Incoming(String sourceDatastore, String sourceName, String claim, long birth, boolean copyingHead,
      String started) {
    /** Returns this mark with writes born in generation {@code next}, copying the head or a snapshot. */
    Incoming next(long nextBirth, boolean head) {
      return new Incoming(sourceDatastore, sourceName, claim, nextBirth, head, started);
    }
  }

  byte[] encode() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Returns this incoming volume's entry published: named {@code newName}, at {@code newGeneration}, unmarked. */
  VolumeRecord published(String newName, long newGeneration) {
    return new VolumeRecord(id, newName, uuid, size, created, newGeneration, allocated, mappedBlocks, parentVolume,
        parentSnapshot, baseMap, null);
  }

  static VolumeRecord decode(byte[] value) throws IOException {
    return JSON.readValue(value, VolumeRecord.class);
  }
}
