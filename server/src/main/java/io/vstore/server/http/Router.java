package io.vstore.server.http;

import io.vstore.server.auth.Scope;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** Finds the route for a method and path; path segments in braces bind parameters. */
public final class Router {
  private final List<Route> routes = new CopyOnWriteArrayList<>();

  /** A matched route with its path parameters. */
  record Match(Route route, Map<String, String> params) {}

  /** Adds a route; a second route with the same method and pattern is a programming error. */
  public void add(String method, String pattern, Scope scope, String summary, RouteHandler handler) {
    for (Route r : routes) {
      if (r.method().equals(method) && r.pattern().equals(pattern)) {
        throw new IllegalStateException("route " + method + " " + pattern + " registered twice");
      }
    }
    routes.add(new Route(method, pattern, scope, summary, handler));
  }

  /** Returns every route, in the order added. */
  public List<Route> routes() {
    return List.copyOf(routes);
  }

  /**
   * Returns the route for {@code method} and {@code path}.
   *
   * @throws ApiException 404 if no route has the path, 405 if none has it for this method
   */
  Match match(String method, String path) {
    List<String> segments = split(path);
    boolean pathKnown = false;
    Match best = null;
    for (Route r : routes) {
      Map<String, String> params = bind(r.segments(), segments);
      if (params == null) {
        continue;
      }
      pathKnown = true;
      // A literal segment beats a parameter: /jobs/stats before /jobs/{id}.
      if (r.method().equals(method) && (best == null || params.size() < best.params().size())) {
        best = new Match(r, params);
      }
    }
    if (best != null) {
      return best;
    }
    if (pathKnown) {
      throw new ApiException(405, "method " + method + " is not allowed on " + path);
    }
    throw ApiException.notFound("no such API path: " + path);
  }

  private static Map<String, String> bind(List<String> pattern, List<String> path) {
    if (pattern.size() != path.size()) {
      return null;
    }
    Map<String, String> params = new HashMap<>();
    for (int i = 0; i < pattern.size(); i++) {
      String p = pattern.get(i);
      if (p.startsWith("{") && p.endsWith("}")) {
        params.put(p.substring(1, p.length() - 1), path.get(i));
      } else if (!p.equals(path.get(i))) {
        return null;
      }
    }
    return params;
  }

  static List<String> split(String path) {
    List<String> out = new ArrayList<>();
    for (String s : path.split("/")) {
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }
}
