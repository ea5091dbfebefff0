package io.vstore.server.web;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.server.auth.Principal;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Authenticator;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Optional;
import java.util.function.IntSupplier;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.server.Request;

/**
 * The dashboard's one-time login links and browser sessions, Jupyter style: the daemon's owner asks
 * for a link over the Unix socket, the browser redeems it once for a session cookie, and every
 * state-changing request of the session must carry the session's CSRF token in a header (which a
 * page of another origin cannot read, so cannot forge). Secrets are kept only as SHA-256 hashes,
 * looked up by hash, so neither a heap dump nor a timing difference gives one away.
 */
final class Sessions implements Authenticator {
  /**
   * The start of the session cookie's name, which ends with the daemon's port: browsers keep
   * cookies per host, not per port, so two daemons on one host would otherwise log each other out.
   */
  static final String COOKIE_PREFIX = "vstore_session_";
  /** The header that carries the CSRF token on state-changing requests. */
  static final String CSRF_HEADER = "X-CSRF-Token";
  /** How long a login link stays valid. */
  static final Duration LOGIN_TTL = Duration.ofMinutes(5);
  /** How long a session may stay unused before it ends. */
  static final Duration IDLE_TTL = Duration.ofHours(12);
  /** The most login links outstanding at once; asking for more drops the oldest. */
  static final int MAX_LOGINS = 32;
  /** The most sessions at once; a new one ends the least recently used. */
  static final int MAX_SESSIONS = 64;

  private static final SecureRandom RANDOM = new SecureRandom();

  /** One browser session: its CSRF token, who it acts as, and when it was last used. */
  record Session(String csrfToken, Principal principal, Instant created, Instant lastUsed) {}

  private record Login(Scope scope, Instant expires) {}

  private final InstantSource clock;
  private final IntSupplier port;
  @GuardedBy("this")
  private final LinkedHashMap<String, Login> logins = new LinkedHashMap<>();
  /** Sessions by the hash of their cookie, least recently used first. */
  @GuardedBy("this")
  private final LinkedHashMap<String, Session> sessions = new LinkedHashMap<>(16, 0.75f, true);

  /** Creates an empty set of sessions timed by {@code clock} for the daemon listening on {@code port}. */
  Sessions(InstantSource clock, IntSupplier port) {
    this.clock = clock;
    this.port = port;
  }

  /** Returns the name of this daemon's session cookie. */
  String cookieName() {
    return COOKIE_PREFIX + port.getAsInt();
  }

  /** Creates a one-time login secret that will open a session of {@code scope}. */
  synchronized String newLogin(Scope scope) {
    expire();
    while (logins.size() >= MAX_LOGINS) {
      Iterator<String> oldest = logins.keySet().iterator();
      oldest.next();
      oldest.remove();
    }
    String secret = randomSecret();
    logins.put(hash(secret), new Login(scope, clock.instant().plus(LOGIN_TTL)));
    return secret;
  }

  /**
   * Consumes the login secret {@code secret} and returns a new session's cookie value, or empty if
   * the secret is unknown, expired or already used.
   */
  synchronized Optional<String> redeem(String secret) {
    expire();
    Login login = secret == null ? null : logins.remove(hash(secret));
    if (login == null) {
      return Optional.empty();
    }
    while (sessions.size() >= MAX_SESSIONS) {
      Iterator<String> leastRecent = sessions.keySet().iterator();
      leastRecent.next();
      leastRecent.remove();
    }
    String cookie = randomSecret();
    Instant now = clock.instant();
    String name = "dashboard-" + hash(cookie).substring(0, 8);
    sessions.put(hash(cookie), new Session(randomSecret(), new Principal(name, login.scope()), now, now));
    return Optional.of(cookie);
  }

  /** Returns the live session of {@code request}'s cookie, marking it used, or empty. */
  Optional<Session> session(Request request) {
    String cookie = cookie(request);
    return cookie == null ? Optional.empty() : find(cookie);
  }

  /** Ends the session of {@code request}'s cookie, if it has one. */
  synchronized void end(Request request) {
    String cookie = cookie(request);
    if (cookie != null) {
      sessions.remove(hash(cookie));
    }
  }

  /** Returns how many sessions are live. */
  synchronized int size() {
    expire();
    return sessions.size();
  }

  /**
   * Returns the principal of a request with a live session cookie, or empty (no cookie, or an
   * ended session: then the route's own credentials check answers 401, and public pages still load).
   *
   * @throws ApiException 403 for a state-changing request without the session's CSRF token
   */
  @Override
  public Optional<Principal> authenticate(Request request) {
    Optional<Session> session = session(request);
    if (session.isEmpty()) {
      return Optional.empty();
    }
    if (!isSafe(request.getMethod())) {
      String sent = request.getHeaders().get(CSRF_HEADER);
      if (sent == null || !MessageDigest.isEqual(sent.getBytes(StandardCharsets.UTF_8),
          session.get().csrfToken().getBytes(StandardCharsets.UTF_8))) {
        throw new ApiException(403, request.getMethod() + " with a dashboard session needs the " + CSRF_HEADER
            + " header from GET /api/v1/dashboard/session" + (sent == null ? "" : " (the one sent is wrong)"));
      }
    }
    return Optional.of(session.get().principal());
  }

  /** Returns the live session whose cookie is {@code cookie}, marking it used, or empty. */
  synchronized Optional<Session> find(String cookie) {
    expire();
    String key = hash(cookie);
    Session s = sessions.get(key);
    if (s == null) {
      return Optional.empty();
    }
    Session used = new Session(s.csrfToken(), s.principal(), s.created(), clock.instant());
    sessions.put(key, used);
    return Optional.of(used);
  }

  @GuardedBy("this")
  private void expire() {
    Instant now = clock.instant();
    logins.values().removeIf(l -> !now.isBefore(l.expires()));
    sessions.values().removeIf(s -> !now.isBefore(s.lastUsed().plus(IDLE_TTL)));
  }

  private static boolean isSafe(String method) {
    return method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS");
  }

  private String cookie(Request request) {
    String name = cookieName();
    for (HttpCookie c : Request.getCookies(request)) {
      if (c.getName().equals(name)) {
        return c.getValue();
      }
    }
    return null;
  }

  private static String randomSecret() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static String hash(String secret) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is part of every JDK", e);
    }
  }
}
