package io.vstore.backup.maint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;

/**
 * One lock object, {@code locks/<session>.<seq>}: who holds the repository for what since when.
 * Objects are immutable, so a refresh writes the same session with the next sequence number and a
 * new {@code refreshed} time, then deletes the previous object.
 *
 * @param key the object's key
 * @param session 32 hex digits, the same for every refresh of one lock
 * @param seq the refresh count
 * @param kind what the holder does
 * @param holder the process holding it
 * @param started when the lock was first taken (kept through refreshes)
 * @param refreshed when this object was written
 * @param interval how often the holder refreshes it; others call it stale after twice that
 * @param base for a backup, the point it is built on (prune keeps it), else null
 * @param detail what the holder works on (a source, a point), for people; may be empty
 */
public record LockRecord(String key, String session, long seq, LockKind kind, ProcessIdentity holder,
    Instant started, Instant refreshed, Duration interval, String base, String detail) {
  /** Where lock objects live. */
  public static final String PREFIX = "locks/";

  public LockRecord {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(holder, "holder");
    Objects.requireNonNull(started, "started");
    Objects.requireNonNull(refreshed, "refreshed");
    Objects.requireNonNull(interval, "interval");
    detail = detail == null ? "" : detail;
  }

  /** Returns the key of a session's lock object at a sequence number. */
  static String keyOf(String session, long seq) {
    return PREFIX + session + "." + Long.toString(seq, 16);
  }

  /** Returns this lock refreshed at {@code now}: the next sequence number, under its own key. */
  LockRecord refreshedAt(Instant now) {
    return new LockRecord(keyOf(session, seq + 1), session, seq + 1, kind, holder, started, now, interval, base, detail);
  }

  /** Returns this lock naming {@code basePoint} as its base, as the next object of the session. */
  LockRecord withBaseAt(String basePoint, Instant now) {
    return new LockRecord(keyOf(session, seq + 1), session, seq + 1, kind, holder, started, now, interval, basePoint,
        detail);
  }

  /** Returns the object's stored bytes. */
  ByteBuffer toBytes() {
    ObjectNode o = JsonEnvelope.JSON.createObjectNode();
    o.put("session", session).put("seq", seq).put("kind", kind.label())
        .put("host", holder.host()).put("hostId", holder.hostId()).put("pid", holder.pid())
        .put("processStart", holder.processStart())
        .put("started", started.toString()).put("refreshed", refreshed.toString())
        .put("intervalSeconds", interval.toSeconds()).put("detail", detail);
    if (base != null) {
      o.put("base", base);
    }
    return JsonEnvelope.write(JsonEnvelope.Type.LOCK, key, o);
  }

  /** Parses a lock object read from {@code key}. */
  static LockRecord read(Object store, String key, byte[] bytes) throws CorruptMaintenanceObjectException {
    JsonNode b = JsonEnvelope.read(JsonEnvelope.Type.LOCK, store, key, bytes);
    String where = store + ": lock " + key;
    try {
      long interval = JsonEnvelope.number(b, "intervalSeconds", where);
      if (interval <= 0 || interval > 86_400) {
        throw new CorruptMaintenanceObjectException("bad " + where + ": refresh interval " + interval + " s");
      }
      JsonNode base = b.get("base");
      return new LockRecord(key, JsonEnvelope.text(b, "session", where), JsonEnvelope.number(b, "seq", where),
          LockKind.ofLabel(JsonEnvelope.text(b, "kind", where)),
          new ProcessIdentity(JsonEnvelope.text(b, "hostId", where), JsonEnvelope.text(b, "host", where),
              JsonEnvelope.number(b, "pid", where), JsonEnvelope.number(b, "processStart", where)),
          Instant.parse(JsonEnvelope.text(b, "started", where)),
          Instant.parse(JsonEnvelope.text(b, "refreshed", where)),
          Duration.ofSeconds(interval), base == null || base.isNull() ? null : base.asText(),
          b.path("detail").asText(""));
    } catch (DateTimeParseException | IllegalArgumentException e) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": " + e.getMessage());
    }
  }

  /** Returns e.g. {@code backup lock of host1 pid 42 since 2026-...}, for messages. */
  public String describe() {
    return kind.label() + " lock of " + holder + " since " + started + (detail.isEmpty() ? "" : " (" + detail + ")");
  }
}
