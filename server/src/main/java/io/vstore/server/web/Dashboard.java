package io.vstore.server.web;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.auth.Principal;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Authenticator;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.Router;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntSupplier;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.server.Response;

/**
 * The web dashboard: its page at {@code /}, the one-time login at {@code /login}, and the
 * {@code /api/v1/dashboard} routes that hand out login links and tell the page its CSRF token.
 * Install it with {@link #install}, then add {@link #authenticator} to the API server.
 */
public final class Dashboard {
  private final Sessions sessions;
  private final InetSocketAddress listen;
  private final boolean tls;
  private final IntSupplier tcpPort;
  private final InstantSource clock;

  private Dashboard(Sessions sessions, InetSocketAddress listen, boolean tls, IntSupplier tcpPort, InstantSource clock) {
    this.sessions = sessions;
    this.clock = clock;
    this.listen = listen;
    this.tls = tls;
    this.tcpPort = tcpPort;
  }

  /**
   * Adds the dashboard's routes to {@code router}.
   *
   * @param listen the TCP address the daemon listens on, or null when it has no TCP listener
   * @param tls whether that listener speaks TLS (then the cookie is {@code Secure} and links https)
   * @param tcpPort the port actually bound (asked when a link is made, so port 0 works)
   */
  public static Dashboard install(Router router, InetSocketAddress listen, boolean tls, IntSupplier tcpPort) {
    return install(router, listen, tls, tcpPort, InstantSource.system());
  }

  /** Adds the dashboard's routes to {@code router}, with sessions timed by {@code clock}. */
  static Dashboard install(Router router, InetSocketAddress listen, boolean tls, IntSupplier tcpPort,
      InstantSource clock) {
    Dashboard d = new Dashboard(new Sessions(clock, tcpPort), listen, tls, tcpPort, clock);
    StaticFiles.register(router);
    router.add("GET", "/login", null, "Redeems a one-time login link for a session cookie.", d::login);
    router.add("POST", "/api/v1/dashboard/logins", Scope.ADMIN,
        "Creates a one-time login link for the dashboard.", d::createLogin);
    router.add("GET", "/api/v1/dashboard/session", Scope.READ,
        "Who the caller is, and the CSRF token of its dashboard session.", d::showSession);
    router.add("DELETE", "/api/v1/dashboard/session", Scope.READ, "Ends the caller's dashboard session.", d::logout);
    return d;
  }

  /** Returns the authenticator of session cookies, to add to the API server. */
  public Authenticator authenticator() {
    return sessions;
  }

  private void createLogin(Exchange ex) throws IOException {
    JsonNode body = ex.bodyTree();
    Scope scope = Scope.ADMIN;
    for (var it = body.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!field.equals("scope")) {
        throw ApiException.badRequest("unknown field '" + field + "' (expected scope)");
      }
    }
    if (body.has("scope")) {
      if (!body.get("scope").isTextual()) {
        throw ApiException.badRequest("scope must be a string: read, write or admin");
      }
      scope = Scope.parse(body.get("scope").asText());
    }
    if (listen == null || tcpPort.getAsInt() <= 0) {
      throw new ApiException(409, "the dashboard needs a TCP listener: start 'vstore serve' with --listen 127.0.0.1:PORT");
    }
    Instant expires = clock.instant().plus(Sessions.LOGIN_TTL);
    String secret = sessions.newLogin(scope);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("url", baseUrl() + "/login?t=" + secret);
    out.put("scope", scope.label());
    out.put("expires", expires.toString());
    ex.json(201, out);
  }

  private String baseUrl() {
    InetAddress address = listen.getAddress();
    String host;
    if (address == null || address.isAnyLocalAddress()) {
      host = "127.0.0.1"; // listening everywhere: loopback reaches it from this host
    } else if (address instanceof Inet6Address) {
      host = "[" + address.getHostAddress().replaceAll("%.*$", "") + "]";
    } else {
      host = address.getHostAddress();
    }
    return (tls ? "https://" : "http://") + host + ":" + tcpPort.getAsInt();
  }

  private void login(Exchange ex) throws IOException {
    StaticFiles.secure(ex);
    Optional<String> cookie = sessions.redeem(ex.query("t"));
    if (cookie.isEmpty()) {
      ex.send(403, "text/html; charset=utf-8", page("This login link is not valid: it was already used, has expired "
          + "(links last " + Sessions.LOGIN_TTL.toMinutes() + " minutes) or was never issued. Run "
          + "<code>vstore dashboard</code> on the daemon's host for a new one."));
      return;
    }
    Response.addCookie(ex.response(), HttpCookie.build(sessions.cookieName(), cookie.get())
        .path("/").httpOnly(true).secure(tls).sameSite(HttpCookie.SameSite.STRICT).build());
    // 303: the browser follows with a GET of "/", and the secret leaves the address bar and history.
    ex.response().getHeaders().put("Location", "/");
    ex.send(303, "text/html; charset=utf-8", page("Logged in: <a href=\"/\">open the dashboard</a>."));
  }

  private void showSession(Exchange ex) throws IOException {
    Principal p = ex.principal();
    Optional<Sessions.Session> session = sessions.session(ex.request());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("user", p.name());
    out.put("scope", p.scope().label());
    out.put("csrfToken", session.map(Sessions.Session::csrfToken).orElse(null));
    out.put("expires", session.map(s -> s.lastUsed().plus(Sessions.IDLE_TTL).toString()).orElse(null));
    ex.json(200, out);
  }

  private void logout(Exchange ex) throws IOException {
    sessions.end(ex.request());
    Response.addCookie(ex.response(), HttpCookie.build(sessions.cookieName(), "")
        .path("/").httpOnly(true).secure(tls).sameSite(HttpCookie.SameSite.STRICT).maxAge(0).build());
    ex.noContent();
  }

  private static byte[] page(String html) {
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>vstore</title>"
        + "<link rel=\"stylesheet\" href=\"/app.css\"></head><body><main class=\"notice\"><h1>vstore</h1><p>"
        + html + "</p></main></body></html>").getBytes(StandardCharsets.UTF_8);
  }
}
