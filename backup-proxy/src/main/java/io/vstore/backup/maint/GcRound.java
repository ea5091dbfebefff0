package io.vstore.backup.maint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One round of candidates of a gc, {@code gc/<round>.round}: the packs and pages that no point
 * referenced when the round was marked, and the time {@code hidden} by which the index no longer
 * listed those packs and the pages were moved aside. Beside it, {@code gc/<round>.index} (the
 * repository's index format) holds the candidate packs' index entries and
 * {@code gc/<round>.pages/<page id>} the pages, so that a point committed by a backup that was
 * already running still reads. The round's data is deleted by a later gc once every backup, sync
 * and restore that started before {@code hidden} has ended.
 *
 * @param id the round id (32 hex digits)
 * @param hidden when the candidates stopped being visible to new backups
 * @param packs the candidate packs' ids (32 hex digits each)
 * @param packBytes the candidate packs' sizes, in the order of {@code packs}
 * @param pages the candidate pages' ids (64 hex digits each)
 */
record GcRound(String id, Instant hidden, List<String> packs, List<Long> packBytes, List<String> pages) {
  static final String PREFIX = "gc/";
  private static final Pattern ROUND_ID = Pattern.compile("[0-9a-f]{32}");

  GcRound {
    packs = List.copyOf(packs);
    packBytes = List.copyOf(packBytes);
    pages = List.copyOf(pages);
    if (packs.size() != packBytes.size()) {
      throw new IllegalArgumentException("round " + id + ": " + packs.size() + " packs, " + packBytes.size() + " sizes");
    }
  }

  /** Returns the key of the round's record. */
  static String recordKey(String round) {
    return PREFIX + round + ".round";
  }

  /** Returns the key of the round's index object. */
  static String indexKey(String round) {
    return PREFIX + round + ".index";
  }

  /** Returns the key of a page moved aside by the round. */
  static String pageKey(String round, String pageHex) {
    return PREFIX + round + ".pages/" + pageHex;
  }

  /** Returns the round id of a key under {@code gc/}, or null if the key is not a round's. */
  static String roundOf(String key) {
    if (!key.startsWith(PREFIX) || key.length() < PREFIX.length() + 33) {
      return null;
    }
    String id = key.substring(PREFIX.length(), PREFIX.length() + 32);
    return ROUND_ID.matcher(id).matches() && key.charAt(PREFIX.length() + 32) == '.' ? id : null;
  }

  /** Returns the total bytes of the candidate packs. */
  long totalPackBytes() {
    long n = 0;
    for (long b : packBytes) {
      n += b;
    }
    return n;
  }

  ByteBuffer toBytes() {
    ObjectNode o = JsonEnvelope.JSON.createObjectNode();
    o.put("round", id).put("hidden", hidden.toString());
    ArrayNode p = o.putArray("packs");
    for (int i = 0; i < packs.size(); i++) {
      p.addObject().put("id", packs.get(i)).put("bytes", packBytes.get(i));
    }
    ArrayNode g = o.putArray("pages");
    pages.forEach(g::add);
    return JsonEnvelope.write(JsonEnvelope.Type.GC_CANDIDATES, recordKey(id), o);
  }

  static GcRound read(Object store, String key, byte[] bytes) throws CorruptMaintenanceObjectException {
    JsonNode b = JsonEnvelope.read(JsonEnvelope.Type.GC_CANDIDATES, store, key, bytes);
    String where = store + ": gc round " + key;
    String id = JsonEnvelope.text(b, "round", where);
    if (!ROUND_ID.matcher(id).matches() || !key.equals(recordKey(id))) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": round id '" + id + "' does not match its key");
    }
    Instant hidden;
    try {
      hidden = Instant.parse(JsonEnvelope.text(b, "hidden", where));
    } catch (DateTimeParseException e) {
      throw new CorruptMaintenanceObjectException("bad " + where + ": " + e.getMessage());
    }
    List<String> packs = new ArrayList<>();
    List<Long> sizes = new ArrayList<>();
    for (JsonNode p : b.path("packs")) {
      String pid = JsonEnvelope.text(p, "id", where);
      if (!pid.matches("[0-9a-f]{32}")) {
        throw new CorruptMaintenanceObjectException("bad " + where + ": pack id '" + pid + "'");
      }
      packs.add(pid);
      sizes.add(JsonEnvelope.number(p, "bytes", where));
    }
    List<String> pages = new ArrayList<>();
    for (JsonNode g : b.path("pages")) {
      String pg = g.asText("");
      if (!pg.matches("[0-9a-f]{64}")) {
        throw new CorruptMaintenanceObjectException("bad " + where + ": page id '" + pg + "'");
      }
      pages.add(pg);
    }
    return new GcRound(id, hidden, packs, sizes, pages);
  }
}
