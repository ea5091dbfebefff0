package io.vstore.server.web;

import io.vstore.server.http.Exchange;
import io.vstore.server.http.Router;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The dashboard page's files (classpath {@code web/}), read once at start and served publicly: they
 * hold no data, and everything the page shows comes from the API, which needs the session.
 */
final class StaticFiles {
  /** Keeps the page to its own origin: no inline script, nothing from elsewhere, no framing. */
  static final String CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

  private static final Map<String, String> TYPES = Map.of(
      "index.html", "text/html; charset=utf-8",
      "app.js", "text/javascript; charset=utf-8",
      "app.css", "text/css; charset=utf-8",
      "favicon.svg", "image/svg+xml");

  private StaticFiles() {}

  /** Adds a public GET route for each file, and {@code /} for the page itself. */
  static void register(Router router) {
    for (Map.Entry<String, String> file : TYPES.entrySet()) {
      byte[] body = read(file.getKey());
      String type = file.getValue();
      router.add("GET", "/" + file.getKey(), null, "The dashboard's " + file.getKey() + ".",
          ex -> send(ex, type, body));
      if (file.getKey().equals("index.html")) {
        router.add("GET", "/", null, "The dashboard.", ex -> send(ex, type, body));
      }
    }
  }

  /** Sends {@code body} with the headers every dashboard response carries. */
  static void send(Exchange ex, String type, byte[] body) throws IOException {
    secure(ex);
    ex.send(200, type, body);
  }

  /** Adds the headers that keep a page from being framed, sniffed, or leaking its URL. */
  static void secure(Exchange ex) {
    var headers = ex.response().getHeaders();
    headers.put("Content-Security-Policy", CSP);
    headers.put("X-Frame-Options", "DENY");
    headers.put("X-Content-Type-Options", "nosniff");
    headers.put("Referrer-Policy", "no-referrer");
  }

  private static byte[] read(String name) {
    try (InputStream in = StaticFiles.class.getResourceAsStream("/web/" + name)) {
      if (in == null) {
        throw new IllegalStateException("the dashboard file web/" + name + " is missing from the classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the dashboard file web/" + name, e);
    }
  }
}
