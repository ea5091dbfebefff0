package io.vstore.backup.maint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vstore.backup.store.NoSuchObjectException;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;

/**
 * Which points are protected from prune: one marker object {@code protect/<pointid>} per point.
 * Objects are immutable, so protecting writes a marker and unprotecting deletes it; a point's
 * protection is the marker's existence.
 */
public final class ProtectionMarkers {
  /** Where markers live. */
  public static final String PREFIX = "protect/";

  private final ObjectStore store;
  private final Clock clock;

  /** Returns the markers of the repository in {@code store}. */
  public ProtectionMarkers(ObjectStore store) {
    this(store, Clock.systemUTC());
  }

  ProtectionMarkers(ObjectStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  /** Protects the point; returns false if it was protected already. */
  public boolean protect(String pointId) throws IOException {
    String key = key(pointId);
    ObjectNode body = JsonEnvelope.JSON.createObjectNode();
    ProcessIdentity who = ProcessIdentity.current();
    body.put("point", pointId).put("time", clock.instant().toString()).put("by", who.toString());
    return store.putIfAbsent(key, JsonEnvelope.write(JsonEnvelope.Type.PROTECTION, key, body));
  }

  /** Removes the point's protection; returns false if it was not protected. */
  public boolean unprotect(String pointId) throws IOException {
    String key = key(pointId);
    boolean had = store.stat(key).isPresent();
    store.delete(key);
    return had;
  }

  /** Returns whether the point is protected now (asked again right before a prune deletes it). */
  public boolean isProtected(String pointId) throws IOException {
    return store.stat(key(pointId)).isPresent();
  }

  /**
   * Returns when the point was protected, or null if it is not.
   *
   * @throws CorruptMaintenanceObjectException if its marker is damaged (it still counts as protected)
   */
  public Instant protectedSince(String pointId) throws IOException {
    String key = key(pointId);
    try {
      return Instant.parse(JsonEnvelope.read(JsonEnvelope.Type.PROTECTION, store, key, store.get(key))
          .path("time").asText());
    } catch (NoSuchObjectException e) {
      return null;
    } catch (java.time.format.DateTimeParseException e) {
      throw new CorruptMaintenanceObjectException("bad " + store + ": protection marker " + key + ": " + e.getMessage());
    }
  }

  /** Returns the ids of every protected point. A damaged marker still protects its point. */
  public Set<String> all() throws IOException {
    Set<String> ids = new HashSet<>();
    store.list(PREFIX, o -> ids.add(o.key().substring(PREFIX.length())));
    return ids;
  }

  private static String key(String pointId) {
    if (pointId.length() != 16 || !pointId.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw new IllegalArgumentException("bad point id '" + pointId + "' (a point id is 16 hex digits)");
    }
    return PREFIX + pointId;
  }
}
