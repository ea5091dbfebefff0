package io.vstore.server.http;

import io.vstore.server.auth.Scope;
import java.util.List;

/**
 * One served route: method, path pattern with {@code {name}} segments, the scope it needs (null:
 * public, as the login page and static dashboard files are), a one-line summary, and whether it
 * belongs to the documented API ({@code /api/v1}, checked against the OpenAPI document).
 */
public record Route(String method, String pattern, Scope scope, String summary, RouteHandler handler) {
  /** Returns the pattern's segments ({@code /api/v1/volumes/{name}} → api, v1, volumes, {name}). */
  List<String> segments() {
    return Router.split(pattern);
  }

  /** Returns whether this route is part of the documented REST API. */
  public boolean documented() {
    return pattern.startsWith("/api/v1/");
  }
}
