package io.vstore.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The OpenAPI 3.1 document served at {@code /api/v1/openapi.json}, assembled from one fragment
 * per part of the daemon ({@code openapi/<part>.json} resources, each holding {@code paths} and
 * {@code components.schemas}), so each part describes its own routes next to its code. A part
 * whose module is not on the class path (the offline module's {@code checkouts}) is left out.
 */
public final class OpenApiDocument {
  /** The parts whose fragments are merged, in order; {@code base} holds info, servers and shared schemas. */
  static final List<String> PARTS = List.of("base", "api", "jobs", "commands", "backups", "exports", "events",
      "metrics", "tokens", "dashboard", "replicas", "checkouts");

  private OpenApiDocument() {}

  /** Returns the merged document. */
  public static ObjectNode load() {
    ObjectNode doc = null;
    for (String part : PARTS) {
      JsonNode fragment = read("openapi/" + part + ".json");
      if (fragment == null) {
        continue;
      }
      if (doc == null) {
        doc = (ObjectNode) fragment.deepCopy();
        doc.withObject("paths");
        doc.withObject("components").withObject("schemas");
        continue;
      }
      merge(doc.withObject("paths"), fragment.path("paths"), part);
      merge(doc.withObject("components").withObject("schemas"), fragment.path("components").path("schemas"), part);
    }
    if (doc == null) {
      throw new IllegalStateException("no OpenAPI fragments on the class path");
    }
    return doc;
  }

  private static void merge(ObjectNode into, JsonNode from, String part) {
    for (Iterator<Map.Entry<String, JsonNode>> it = from.properties().iterator(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode existing = into.get(e.getKey());
      if (existing instanceof ObjectNode obj && e.getValue() instanceof ObjectNode add) {
        for (Map.Entry<String, JsonNode> op : add.properties()) {
          if (obj.has(op.getKey())) {
            throw new IllegalStateException("OpenAPI part " + part + " describes " + e.getKey() + " " + op.getKey()
                + " again");
          }
          obj.set(op.getKey(), op.getValue());
        }
      } else if (existing != null) {
        throw new IllegalStateException("OpenAPI part " + part + " defines " + e.getKey() + " again");
      } else {
        into.set(e.getKey(), e.getValue());
      }
    }
  }

  private static JsonNode read(String resource) {
    try (InputStream in = OpenApiDocument.class.getClassLoader().getResourceAsStream(resource)) {
      return in == null ? null : Exchange.JSON.readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException("bad OpenAPI fragment " + resource, e);
    }
  }
}
