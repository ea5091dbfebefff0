package io.vstore.backup.maint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The framing of the maintenance objects (locks, gc candidate lists, protection markers): small
 * JSON bodies that people may want to read, inside a header and a checksum.
 *
 * <pre>
 * offset  size  field (big-endian)
 *      0     4  magic "VSMT"
 *      4     1  type: 1 lock, 2 gc candidates, 3 protection marker
 *      5     1  version (1)
 *      6     2  reserved, 0
 *      8     4  body length N (at most {@link #MAX_BODY})
 *     12     N  body: UTF-8 JSON object whose "key" field is the object's own key
 *   12+N     4  CRC32C of bytes 0 .. 12+N
 * </pre>
 *
 * The body carries the key it was stored under, so an object copied or renamed to another key is
 * reported rather than believed.
 */
final class JsonEnvelope {
  static final int MAGIC = 0x56534d54; // "VSMT"
  static final int VERSION = 1;
  static final int HEADER = 12;
  static final int MAX_BODY = 16 << 20;
  static final ObjectMapper JSON = new ObjectMapper();

  /** The object types. */
  enum Type {
    LOCK(1, "lock"), GC_CANDIDATES(2, "gc candidate list"), PROTECTION(3, "protection marker");

    final int code;
    final String noun;

    Type(int code, String noun) {
      this.code = code;
      this.noun = noun;
    }
  }

  private JsonEnvelope() {}

  /** Returns the stored bytes of {@code body} under {@code key}; sets the body's "key" field. */
  static ByteBuffer write(Type type, String key, ObjectNode body) {
    body.put("key", key);
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    if (json.length > MAX_BODY) {
      throw new IllegalArgumentException(type.noun + " " + key + " too large: " + json.length + " bytes");
    }
    ByteBuffer b = ByteBuffer.allocate(HEADER + json.length + 4).order(ByteOrder.BIG_ENDIAN);
    b.putInt(MAGIC).put((byte) type.code).put((byte) VERSION).putShort((short) 0).putInt(json.length).put(json);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, HEADER + json.length);
    b.putInt((int) crc.getValue());
    return b.flip();
  }

  /**
   * Returns the body of an object read from {@code key} of {@code store}.
   *
   * @throws CorruptMaintenanceObjectException naming store, key and what is wrong
   */
  static JsonNode read(Type type, Object store, String key, byte[] bytes) throws CorruptMaintenanceObjectException {
    String where = store + ": " + type.noun + " " + key;
    if (bytes.length < HEADER + 4) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": " + bytes.length + " bytes, shorter than a header");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
    int magic = b.getInt();
    if (magic != MAGIC) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": magic 0x" + Integer.toHexString(magic)
          + ", expected 0x" + Integer.toHexString(MAGIC));
    }
    int t = b.get() & 0xff;
    int version = b.get() & 0xff;
    b.getShort();
    long length = b.getInt() & 0xffffffffL;
    if (t != type.code) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": object type " + t + ", expected " + type.code);
    }
    if (version != VERSION) {
      throw new CorruptMaintenanceObjectException("unsupported " + where + ": version " + version + ", this vstore reads "
          + VERSION);
    }
    if (length > MAX_BODY || length != bytes.length - HEADER - 4) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": body length " + length + " in an object of "
          + bytes.length + " bytes");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, HEADER + (int) length);
    int stored = ByteBuffer.wrap(bytes, HEADER + (int) length, 4).getInt();
    if (stored != (int) crc.getValue()) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": checksum 0x" + Integer.toHexString(stored)
          + ", computed 0x" + Integer.toHexString((int) crc.getValue()));
    }
    JsonNode body;
    try {
      body = JSON.readTree(bytes, HEADER, (int) length);
    } catch (java.io.IOException e) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": body is not JSON: " + e.getMessage());
    }
    if (body == null || !body.isObject()) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": body is not a JSON object");
    }
    if (!key.equals(body.path("key").asText(null))) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": it names itself '" + body.path("key").asText("")
          + "' (moved or copied from another key)");
    }
    return body;
  }

  /** Returns a required text field, or throws naming the object and the field. */
  static String text(JsonNode body, String field, String where) throws CorruptMaintenanceObjectException {
    JsonNode n = body.get(field);
    if (n == null || !n.isTextual()) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": field '" + field + "' missing or not text");
    }
    return n.asText();
  }

  /** Returns a required integer field, or throws naming the object and the field. */
  static long number(JsonNode body, String field, String where) throws CorruptMaintenanceObjectException {
    JsonNode n = body.get(field);
    if (n == null || !n.canConvertToLong()) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": field '" + field + "' missing or not an integer");
    }
    return n.asLong();
  }
}
