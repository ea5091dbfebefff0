package io.vstore.blockstore.store;

import java.io.IOException;

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
  /** Returns the entry as JSON, its fields in declaration order. */
  byte[] encode() {
    return JsonRecords.write(false, g -> {
      g.writeNumberField("id", id);
      g.writeNumberField("volume", volume);
      g.writeStringField("name", name);
      g.writeNumberField("generation", generation);
      g.writeStringField("created", created);
    });
  }

  static SnapshotRecord decode(byte[] value) throws IOException {
    String[] text = new String[2]; // name, created
    long[] number = new long[3]; // id, volume, generation
    JsonRecords.read(value, (field, p) -> {
      switch (field) {
        case "id" -> number[0] = JsonRecords.number(p);
        case "volume" -> number[1] = JsonRecords.number(p);
        case "name" -> text[0] = JsonRecords.text(p);
        case "generation" -> number[2] = JsonRecords.number(p);
        case "created" -> text[1] = JsonRecords.text(p);
        default -> {
          return false;
        }
      }
      return true;
    });
    return new SnapshotRecord(number[0], number[1], text[0], number[2], text[1]);
  }
}
