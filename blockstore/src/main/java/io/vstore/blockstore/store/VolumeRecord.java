package io.vstore.blockstore.store;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

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
    Incoming incoming) {

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

  /** Returns the entry as JSON, its fields in declaration order, no {@code incoming} when null. */
  byte[] encode() {
    return JsonRecords.write(false, g -> {
      g.writeNumberField("id", id);
      g.writeStringField("name", name);
      g.writeStringField("uuid", uuid);
      g.writeNumberField("size", size);
      g.writeStringField("created", created);
      g.writeNumberField("generation", generation);
      g.writeNumberField("allocated", allocated);
      g.writeNumberField("mappedBlocks", mappedBlocks);
      g.writeNumberField("parentVolume", parentVolume);
      g.writeNumberField("parentSnapshot", parentSnapshot);
      g.writeNumberField("baseMap", baseMap);
      if (incoming != null) {
        g.writeObjectFieldStart("incoming");
        g.writeStringField("sourceDatastore", incoming.sourceDatastore());
        g.writeStringField("sourceName", incoming.sourceName());
        g.writeStringField("claim", incoming.claim());
        g.writeNumberField("birth", incoming.birth());
        g.writeBooleanField("copyingHead", incoming.copyingHead());
        g.writeStringField("started", incoming.started());
        g.writeEndObject();
      }
    });
  }

  /** Returns this incoming volume's entry published: named {@code newName}, at {@code newGeneration}, unmarked. */
  VolumeRecord published(String newName, long newGeneration) {
    return new VolumeRecord(id, newName, uuid, size, created, newGeneration, allocated, mappedBlocks, parentVolume,
        parentSnapshot, baseMap, null);
  }

  static VolumeRecord decode(byte[] value) throws IOException {
    String[] text = new String[3]; // name, uuid, created
    long[] number = new long[8]; // id, size, generation, allocated, mappedBlocks, parentVolume, parentSnapshot, baseMap
    Incoming[] incoming = new Incoming[1];
    JsonRecords.read(value, (field, p) -> {
      switch (field) {
        case "id" -> number[0] = JsonRecords.number(p);
        case "name" -> text[0] = JsonRecords.text(p);
        case "uuid" -> text[1] = JsonRecords.text(p);
        case "size" -> number[1] = JsonRecords.number(p);
        case "created" -> text[2] = JsonRecords.text(p);
        case "generation" -> number[2] = JsonRecords.number(p);
        case "allocated" -> number[3] = JsonRecords.number(p);
        case "mappedBlocks" -> number[4] = JsonRecords.number(p);
        case "parentVolume" -> number[5] = JsonRecords.number(p);
        case "parentSnapshot" -> number[6] = JsonRecords.number(p);
        case "baseMap" -> number[7] = JsonRecords.number(p);
        case "incoming" -> incoming[0] = p.currentToken() == JsonToken.VALUE_NULL ? null : decodeIncoming(p);
        default -> {
          return false;
        }
      }
      return true;
    });
    return new VolumeRecord(number[0], text[0], text[1], number[1], text[2], number[2], number[3], number[4], number[5],
        number[6], number[7], incoming[0]);
  }

  private static Incoming decodeIncoming(JsonParser p) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw new JsonParseException(p, "field 'incoming' must be an object");
    }
    String[] text = new String[4]; // sourceDatastore, sourceName, claim, started
    long[] birth = new long[1];
    boolean[] copyingHead = new boolean[1];
    JsonRecords.readFields(p, (field, q) -> {
      switch (field) {
        case "sourceDatastore" -> text[0] = JsonRecords.text(q);
        case "sourceName" -> text[1] = JsonRecords.text(q);
        case "claim" -> text[2] = JsonRecords.text(q);
        case "birth" -> birth[0] = JsonRecords.number(q);
        case "copyingHead" -> copyingHead[0] = JsonRecords.bool(q);
        case "started" -> text[3] = JsonRecords.text(q);
        default -> {
          return false;
        }
      }
      return true;
    });
    return new Incoming(text[0], text[1], text[2], birth[0], copyingHead[0], text[3]);
  }
}
