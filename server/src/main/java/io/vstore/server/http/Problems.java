package io.vstore.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vstore.blockstore.OutOfSpaceException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.server.auth.ForbiddenException;
import java.util.LinkedHashMap;
import java.util.Map;

/** Turns failures into RFC 9457 problem details carrying vstore's one-line messages. */
public final class Problems {
  /** The media type of problem details. */
  public static final String MEDIA_TYPE = "application/problem+json";

  private Problems() {}

  /** Returns the HTTP status for a failure: the caller's mistakes are 4xx, the daemon's 5xx. */
  public static int status(Throwable e) {
    return switch (e) {
      case ApiException a -> a.status();
      case ForbiddenException f -> 403;
      case JsonProcessingException j -> 400;
      case IllegalArgumentException i -> 400;
      case OutOfSpaceException o -> 507;
      case ReadOnlyDeviceException r -> 409;
      case IllegalStateException s -> 409;
      case io.vstore.blockstore.store.DatastoreException d -> d.getMessage() != null && d.getMessage().startsWith("no ")
          ? 404 : 409;
      default -> 500;
    };
  }

  /** Returns the problem document for {@code status} and {@code detail}. */
  public static Map<String, Object> body(int status, String detail) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("type", "about:blank");
    p.put("title", title(status));
    p.put("status", status);
    p.put("detail", detail);
    return p;
  }

  /** Returns a one-line message for {@code e}: its message, or its type when it has none. */
  public static String message(Throwable e) {
    String m = e instanceof JsonProcessingException j ? "invalid JSON body: " + j.getOriginalMessage() : e.getMessage();
    if (m == null || m.isBlank()) {
      return e.getClass().getSimpleName();
    }
    return m.replace('\n', ' ');
  }

  static String title(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 401 -> "Unauthorized";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 409 -> "Conflict";
      case 413 -> "Content Too Large";
      case 415 -> "Unsupported Media Type";
      case 429 -> "Too Many Requests";
      case 503 -> "Service Unavailable";
      case 507 -> "Insufficient Storage";
      default -> status >= 500 ? "Internal Server Error" : "Error";
    };
  }
}
