package io.vstore.server.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.Daemon;
import io.vstore.server.DaemonConfig;
import io.vstore.server.TestDaemon;
import io.vstore.server.http.Exchange;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.io.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dashboard's login, session and CSRF rules, over plain HTTP (no browser). */
class DashboardTest {
  @TempDir Path tmp;
  private TestDaemon daemon;
  /** Sends exactly the cookies a test gives: no cookie jar, no redirects followed. */
  private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

  @BeforeEach
  void start() throws Exception {
    daemon = TestDaemon.start(null, tmp.resolve("ds"));
  }

  @AfterEach
  void stop() throws Exception {
    daemon.close();
    http.close();
  }

  private String cookieName() {
    return Sessions.COOKIE_PREFIX + daemon.daemon().api().tcpPort();
  }

  private String newLoginUrl() throws Exception {
    TestDaemon.Reply r = daemon.unix("POST", "/api/v1/dashboard/logins", null);
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json().get("url").asText();
  }

  private HttpResponse<String> get(String url, String cookie) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).GET();
    if (cookie != null) {
      b.header("Cookie", cookie);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> send(String method, String path, String cookie, String csrf, String json)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(daemon.baseUrl() + path))
        .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json))
        .header("Cookie", cookie);
    if (json != null) {
      b.header("Content-Type", "application/json");
    }
    if (csrf != null) {
      b.header(Sessions.CSRF_HEADER, csrf);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Logs in through a fresh one-time link and returns the session cookie as a Cookie header value. */
  private String login() throws Exception {
    HttpResponse<String> r = get(newLoginUrl(), null);
    assertThat(r.statusCode()).isEqualTo(303);
    String setCookie = r.headers().firstValue("Set-Cookie").orElseThrow();
    return setCookie.substring(0, setCookie.indexOf(';'));
  }

  private static JsonNode json(HttpResponse<String> r) throws Exception {
    return Exchange.JSON.readTree(r.body());
  }

  @Test
  void theLoginLinkPointsAtTheTcpListenerAndSetsAStrictHttpOnlyCookieOnce() throws Exception {
    String url = newLoginUrl();
    assertThat(url).startsWith(daemon.baseUrl() + "/login?t=").hasSizeGreaterThan(daemon.baseUrl().length() + 40);

    HttpResponse<String> first = get(url, null);
    assertThat(first.statusCode()).isEqualTo(303);
    assertThat(first.headers().firstValue("Location")).hasValue("/");
    String cookie = first.headers().firstValue("Set-Cookie").orElseThrow();
    assertThat(cookie).startsWith(cookieName() + "=").containsIgnoringCase("HttpOnly")
        .containsIgnoringCase("SameSite=Strict").contains("Path=/").doesNotContainIgnoringCase("Secure");
    String secret = url.substring(url.indexOf("t=") + 2);
    assertThat(cookie).doesNotContain(secret);

    HttpResponse<String> again = get(url, null);
    assertThat(again.statusCode()).isEqualTo(403);
    assertThat(again.headers().firstValue("Set-Cookie")).isEmpty();
    assertThat(again.body()).contains("already used").contains("vstore dashboard");
    assertThat(get(daemon.baseUrl() + "/login", null).statusCode()).isEqualTo(403);
    assertThat(get(daemon.baseUrl() + "/login?t=forged", null).statusCode()).isEqualTo(403);
  }

  @Test
  void theSessionReadsTheApiAndStateChangesNeedItsCsrfToken() throws Exception {
    String cookie = login();
    HttpResponse<String> version = get(daemon.baseUrl() + "/api/v1/version", cookie);
    assertThat(version.statusCode()).isEqualTo(200);

    HttpResponse<String> session = get(daemon.baseUrl() + "/api/v1/dashboard/session", cookie);
    assertThat(session.statusCode()).isEqualTo(200);
    JsonNode s = json(session);
    assertThat(s.get("scope").asText()).isEqualTo("admin");
    String csrf = s.get("csrfToken").asText();
    assertThat(csrf).hasSizeGreaterThanOrEqualTo(40);
    assertThat(cookie).doesNotContain(csrf);

    // A state-changing request with the cookie but without (or with a wrong) token changes nothing.
    HttpResponse<String> noToken = send("POST", "/api/v1/dashboard/logins", cookie, null, null);
    assertThat(noToken.statusCode()).isEqualTo(403);
    assertThat(noToken.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(json(noToken).get("detail").asText()).contains("X-CSRF-Token");
    assertThat(send("DELETE", "/api/v1/dashboard/session", cookie, "wrong", null).statusCode()).isEqualTo(403);
    assertThat(get(daemon.baseUrl() + "/api/v1/dashboard/session", cookie).statusCode()).isEqualTo(200);

    HttpResponse<String> withToken = send("POST", "/api/v1/dashboard/logins", cookie, csrf, "{\"scope\":\"read\"}");
    assertThat(withToken.statusCode()).isEqualTo(201);
    assertThat(json(withToken).get("scope").asText()).isEqualTo("read");

    HttpResponse<String> logout = send("DELETE", "/api/v1/dashboard/session", cookie, csrf, null);
    assertThat(logout.statusCode()).isEqualTo(204);
    assertThat(logout.headers().firstValue("Set-Cookie").orElseThrow()).startsWith(cookieName() + "=;").contains("Expires=Thu, 01 Jan 1970");
    assertThat(get(daemon.baseUrl() + "/api/v1/dashboard/session", cookie).statusCode()).isEqualTo(401);
  }

  @Test
  void aReadSessionCannotWrite() throws Exception {
    TestDaemon.Reply r = daemon.unix("POST", "/api/v1/dashboard/logins", "{\"scope\":\"read\"}");
    HttpResponse<String> login = get(r.json().get("url").asText(), null);
    String setCookie = login.headers().firstValue("Set-Cookie").orElseThrow();
    String cookie = setCookie.substring(0, setCookie.indexOf(';'));
    String csrf = json(get(daemon.baseUrl() + "/api/v1/dashboard/session", cookie)).get("csrfToken").asText();
    assertThat(send("POST", "/api/v1/dashboard/logins", cookie, csrf, null).statusCode()).isEqualTo(403);
    assertThat(get(daemon.baseUrl() + "/api/v1/version", cookie).statusCode()).isEqualTo(200);
  }

  @Test
  void pagesArePublicWithStrictHeadersAndTheApiNeedsTheSession() throws Exception {
    for (String path : List.of("/", "/index.html", "/app.js", "/app.css", "/favicon.svg")) {
      HttpResponse<String> r = get(daemon.baseUrl() + path, null);
      assertThat(r.statusCode()).as(path).isEqualTo(200);
      assertThat(r.headers().firstValue("Content-Security-Policy")).as(path).hasValueSatisfying(
          csp -> assertThat(csp).startsWith("default-src 'self'").contains("frame-ancestors 'none'"));
      assertThat(r.headers().firstValue("X-Frame-Options")).as(path).hasValue("DENY");
      assertThat(r.headers().firstValue("X-Content-Type-Options")).as(path).hasValue("nosniff");
    }
    assertThat(get(daemon.baseUrl() + "/", null).headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
    assertThat(get(daemon.baseUrl() + "/app.js", null).headers().firstValue("Content-Type").orElseThrow())
        .startsWith("text/javascript");
    // The page loads nothing from elsewhere.
    assertThat(get(daemon.baseUrl() + "/", null).body()).doesNotContainPattern("(src|href)=\"(https?:)?//");

    assertThat(get(daemon.baseUrl() + "/api/v1/dashboard/session", null).statusCode()).isEqualTo(401);
    assertThat(get(daemon.baseUrl() + "/api/v1/version", cookieName() + "=stale").statusCode()).isEqualTo(401);
    // A stale cookie does not keep the page itself from loading.
    assertThat(get(daemon.baseUrl() + "/", cookieName() + "=stale").statusCode()).isEqualTo(200);
  }

  @Test
  void loginsAreForAdminsAndCheckTheirBody() throws Exception {
    String token = daemon.adminToken();
    TestDaemon.Reply overTcp = daemon.tcp("POST", "/api/v1/dashboard/logins", "{}", token);
    assertThat(overTcp.status()).isEqualTo(201);
    assertThat(overTcp.json().get("expires").asText()).isNotEmpty();
    assertThat(daemon.tcp("POST", "/api/v1/dashboard/logins", null, null).status()).isEqualTo(401);
    TestDaemon.Reply badScope = daemon.unix("POST", "/api/v1/dashboard/logins", "{\"scope\":\"root\"}");
    assertThat(badScope.status()).isEqualTo(400);
    assertThat(badScope.json().get("detail").asText()).contains("root");
    assertThat(daemon.unix("POST", "/api/v1/dashboard/logins", "{\"scope\":1}").status()).isEqualTo(400);
    assertThat(daemon.unix("POST", "/api/v1/dashboard/logins", "{\"user\":\"x\"}").status()).isEqualTo(400);

    // With a bearer token the session route answers who it is, and needs no CSRF token.
    JsonNode s = daemon.tcp("GET", "/api/v1/dashboard/session", null, token).json();
    assertThat(s.get("csrfToken").isNull()).isTrue();
    assertThat(s.get("scope").asText()).isEqualTo("admin");
  }

  @Test
  void theOpenApiDocumentDescribesEveryDashboardApiRoute() throws Exception {
    JsonNode paths = daemon.unix("GET", "/api/v1/openapi.json", null).json().get("paths");
    List<String> served = daemon.daemon().router().routes().stream()
        .filter(r -> r.pattern().startsWith("/api/v1/dashboard/"))
        .map(r -> r.method().toLowerCase(java.util.Locale.ROOT) + " " + r.pattern()).sorted().toList();
    List<String> described = new java.util.ArrayList<>();
    paths.properties().forEach(p -> {
      if (p.getKey().startsWith("/api/v1/dashboard/")) {
        p.getValue().fieldNames().forEachRemaining(m -> described.add(m + " " + p.getKey()));
      }
    });
    assertThat(served).containsExactly("delete /api/v1/dashboard/session", "get /api/v1/dashboard/session",
        "post /api/v1/dashboard/logins");
    assertThat(described).containsExactlyInAnyOrderElementsOf(served);
    // The page and the login link are not part of the documented API.
    assertThat(paths.has("/login")).isFalse();
    assertThat(paths.has("/")).isFalse();
  }

  @Test
  void underTlsTheLinkIsHttpsAndTheCookieSecure() throws Exception {
    Path certs = Files.createDirectories(tmp.resolve("certs"));
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", certs.resolve("key.pem").toString(), "-out", certs.resolve("cert.pem").toString(),
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
        .redirectErrorStream(true).redirectOutput(certs.resolve("openssl.log").toFile()).start();
    assertThat(openssl.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(openssl.exitValue()).as(Files.readString(certs.resolve("openssl.log"))).isZero();
    Path ds = tmp.resolve("tls");
    io.vstore.blockstore.store.Datastore.create(ds, io.vstore.blockstore.store.DatastoreOptions.defaults(), 1L << 30)
        .close();
    DaemonConfig config = new DaemonConfig(List.of(ds), false, new InetSocketAddress("127.0.0.1", 0),
        certs.resolve("cert.pem"), certs.resolve("key.pem"), null, null, 1);
    try (Daemon tls = Daemon.start(config, null)) {
      ContentResponse r = daemon.client().newRequest("http://localhost/api/v1/dashboard/logins")
          .transport(new Transport.TCPUnix(ds.resolve(Daemon.SOCKET))).method("POST").send();
      assertThat(r.getStatus()).isEqualTo(201);
      String url = Exchange.JSON.readTree(r.getContentAsString()).get("url").asText();
      assertThat(url).startsWith("https://127.0.0.1:" + tls.api().tcpPort() + "/login?t=");

      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      try (InputStream in = Files.newInputStream(certs.resolve("cert.pem"))) {
        trust.setCertificateEntry("daemon", CertificateFactory.getInstance("X.509").generateCertificate(in));
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ssl = SSLContext.getInstance("TLSv1.3");
      ssl.init(null, tmf.getTrustManagers(), null);
      try (HttpClient https = HttpClient.newBuilder().sslContext(ssl).followRedirects(HttpClient.Redirect.NEVER).build()) {
        HttpResponse<String> login = https.send(HttpRequest.newBuilder(URI.create(url)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(login.statusCode()).isEqualTo(303);
        assertThat(login.headers().firstValue("Set-Cookie").orElseThrow())
            .startsWith(Sessions.COOKIE_PREFIX + tls.api().tcpPort() + "=").containsIgnoringCase("; Secure")
            .containsIgnoringCase("HttpOnly").containsIgnoringCase("SameSite=Strict");
      }
    }
  }

  @Test
  void withoutATcpListenerALoginLinkIsRefusedClearly() throws Exception {
    Path ds = tmp.resolve("local");
    io.vstore.blockstore.store.Datastore.create(ds, io.vstore.blockstore.store.DatastoreOptions.defaults(), 1L << 30)
        .close();
    try (Daemon local = Daemon.start(DaemonConfig.local(List.of(ds)), null)) {
      ContentResponse r = daemon.client().newRequest("http://localhost/api/v1/dashboard/logins")
          .transport(new Transport.TCPUnix(ds.resolve(Daemon.SOCKET))).method("POST")
          .body(new StringRequestContent("application/json", "{}")).send();
      assertThat(r.getStatus()).isEqualTo(409);
      assertThat(Exchange.JSON.readTree(r.getContentAsString()).get("detail").asText()).contains("--listen");
    }
  }
}
