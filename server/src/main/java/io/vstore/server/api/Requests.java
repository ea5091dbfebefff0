package io.vstore.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.ChangeIdException;
import io.vstore.engine.InventoryException;
import io.vstore.server.DatastoreHost;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.RouteHandler;
import io.vstore.server.http.Router;
import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * What every REST resource does with a request: finds the datastore it addresses, checks names
 * with the engine's rules, reads typed bodies and query parameters, and maps the engine's checked
 * exceptions that {@link io.vstore.server.http.Problems} does not know to 4xx statuses.
 */
final class Requests {
  /** The query parameter naming the datastore a request addresses (default: the first owned one). */
  static final String DATASTORE = "datastore";

  /**
   * The API's JSON reader made strict about scalar types: {@code "size": "512"} or
   * {@code "name": 5} is a 400 rather than silently converted, so a client's type error cannot
   * create an object it did not describe.
   */
  private static final ObjectMapper STRICT = strict();
  /** How much of a streamed list is written to the connection at a time. */
  private static final int STREAM_BUFFER = 64 << 10;

  private Requests() {}

  private static ObjectMapper strict() {
    ObjectMapper m = Exchange.JSON.copy();
    for (LogicalType scalar : List.of(LogicalType.Textual, LogicalType.Integer, LogicalType.Float,
        LogicalType.Boolean)) {
      for (CoercionInputShape shape : List.of(CoercionInputShape.String, CoercionInputShape.Integer,
          CoercionInputShape.Float, CoercionInputShape.Boolean, CoercionInputShape.EmptyString)) {
        boolean same = switch (scalar) {
          case Textual -> shape == CoercionInputShape.String || shape == CoercionInputShape.EmptyString;
          case Integer -> shape == CoercionInputShape.Integer;
          case Float -> shape == CoercionInputShape.Float || shape == CoercionInputShape.Integer;
          default -> shape == CoercionInputShape.Boolean;
        };
        if (!same) {
          m.coercionConfigFor(scalar).setCoercion(shape, CoercionAction.Fail);
        }
      }
    }
    return m;
  }

  /** Adds a route whose handler's engine failures become the right 4xx (see {@link #translate}). */
  static void add(Router router, String method, String pattern, Scope scope, String summary, RouteHandler handler) {
    router.add(method, pattern, scope, summary, ex -> {
      try {
        handler.handle(ex);
      } catch (InventoryException | ChangeIdException e) {
        throw translate(e);
      }
    });
  }

  /**
   * Returns the API error for an engine failure the generic mapping would call a 500: an
   * inventory lookup of something absent ("no VM ...", "no pool ...") is a 404, any other
   * inventory refusal a 409, and an unusable change id a 400.
   */
  static ApiException translate(Exception e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e instanceof ChangeIdException) {
      return ApiException.badRequest(message);
    }
    return new ApiException(message.startsWith("no ") ? 404 : 409, message);
  }

  /** Returns the datastore named by the {@code datastore} query parameter, or the first owned one. */
  static ManagedDatastore datastore(Exchange ex, DatastoreHost host) {
    return host.byName(ex.query(DATASTORE));
  }

  /** Returns path parameter {@code param}, checked as a {@code kind} name (volume, snapshot). */
  static String name(Exchange ex, String param, String kind) {
    String name = ex.path(param);
    SnapshotRef.checkName(kind, name);
    return name;
  }

  /** Reads the body as {@code type}: a JSON object whose fields match it (unknown fields are a 400). */
  static <T> T body(Exchange ex, Class<T> type) throws java.io.IOException {
    JsonNode tree = ex.bodyTree();
    if (!tree.isObject()) {
      throw ApiException.badRequest("request body must be a JSON object, not " + tree.getNodeType().name()
          .toLowerCase(java.util.Locale.ROOT));
    }
    return STRICT.treeToValue(tree, type);
  }

  /**
   * Responds 200 with {@code list} as a JSON array written straight to the connection: a list of
   * 10,000 volumes is megabytes, which 200 concurrent clients should not each hold as a copy.
   */
  static void jsonList(Exchange ex, List<?> list) throws java.io.IOException {
    try (OutputStream out = new BufferedOutputStream(ex.stream(200, "application/json"), STREAM_BUFFER)) {
      Exchange.JSON.writeValue(out, list);
    }
  }

  /** Returns query parameter {@code name} as a long, or {@code fallback} when absent. */
  static long longQuery(Exchange ex, String name, long fallback) {
    String v = ex.query(name);
    if (v == null) {
      return fallback;
    }
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw ApiException.badRequest("bad query parameter " + name + " '" + v + "': not an integer");
    }
  }

  /** Returns query parameter {@code name} as a boolean ({@code true} or {@code false}), or false when absent. */
  static boolean flagQuery(Exchange ex, String name) {
    String v = ex.query(name);
    if (v == null || v.equals("false")) {
      return false;
    }
    if (v.equals("true") || v.isEmpty()) {
      return true;
    }
    throw ApiException.badRequest("bad query parameter " + name + " '" + v + "': expected true or false");
  }

  /** Throws a 400 naming {@code field} when {@code value} is missing from the body. */
  static <T> T required(T value, String field) {
    if (value == null) {
      throw ApiException.badRequest("missing field '" + field + "' in the request body");
    }
    return value;
  }
}
