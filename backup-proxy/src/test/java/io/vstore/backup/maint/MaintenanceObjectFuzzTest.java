package io.vstore.backup.maint;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;

/**
 * Feeds arbitrary bytes as lock objects and gc round records, and valid frames around arbitrary
 * JSON: parsing either gives a value or fails with a {@link CorruptMaintenanceObjectException}
 * naming the object, never an unchecked exception or an unbounded allocation.
 */
class MaintenanceObjectFuzzTest {
  private static final String LOCK_KEY = LockRecord.keyOf("0123456789abcdef0123456789abcdef", 1);
  private static final String ROUND_KEY = GcRound.recordKey("0123456789abcdef0123456789abcdef");

  @FuzzTest(maxDuration = "15s")
  void anyBytesAreAMaintenanceObjectOrACorruptionError(FuzzedDataProvider data) {
    boolean framed = data.consumeBoolean();
    boolean lock = data.consumeBoolean();
    byte[] bytes;
    if (framed) {
      // A valid frame and checksum around arbitrary JSON text, so the body parsers are reached.
      String json = data.consumeRemainingAsString();
      bytes = frame(lock ? JsonEnvelope.Type.LOCK : JsonEnvelope.Type.GC_CANDIDATES, json);
    } else {
      bytes = data.consumeRemainingAsBytes();
    }
    try {
      if (lock) {
        LockRecord r = LockRecord.read("fuzz", LOCK_KEY, bytes);
        if (r.interval().compareTo(Duration.ofDays(1)) > 0 || r.interval().isNegative()) {
          throw new AssertionError("accepted refresh interval " + r.interval());
        }
      } else {
        GcRound r = GcRound.read("fuzz", ROUND_KEY, bytes);
        if (r.packs().size() != r.packBytes().size() || r.hidden().isAfter(Instant.MAX)) {
          throw new AssertionError("inconsistent round " + r);
        }
      }
    } catch (CorruptMaintenanceObjectException expected) {
      // named, one line
    }
  }

  private static byte[] frame(JsonEnvelope.Type type, String json) {
    byte[] body = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(JsonEnvelope.HEADER + body.length + 4);
    b.putInt(JsonEnvelope.MAGIC).put((byte) type.code).put((byte) JsonEnvelope.VERSION).putShort((short) 0)
        .putInt(body.length).put(body);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(b.array(), 0, JsonEnvelope.HEADER + body.length);
    b.putInt((int) crc.getValue());
    return b.array();
  }
}
