package io.vstore.cli.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Talks to a {@code vstore serve} daemon: over {@code <datastore>/vstore.sock} when one owns the
 * datastore, or over TCP ({@code --remote URL} with a bearer token). Failures the daemon reports
 * come back as {@link DaemonException}s carrying its one-line message.
 */
public final class DaemonClient implements Closeable {
  /** The daemon's Unix socket inside a datastore (the server module's {@code Daemon.SOCKET}). */
  public static final String SOCKET = "vstore.sock";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long TIMEOUT_SECONDS = 600;

  private final HttpClient http;
  private final String base;
  private final Path socket;
  private final String token;

  private DaemonClient(HttpClient http, String base, Path socket, String token) {
    this.http = http;
    this.base = base;
    this.socket = socket;
    this.token = token;
  }

  /**
   * Returns a client of the daemon that owns {@code datastore}, or empty when none answers on its
   * socket (none runs, or one crashed and left the socket behind).
   */
  public static Optional<DaemonClient> local(Path datastore) throws IOException {
    Path socket = datastore.resolve(SOCKET);
    if (!Files.exists(socket)) {
      return Optional.empty();
    }
    try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
      // someone listens
    } catch (IOException e) {
      return Optional.empty();
    }
    return Optional.of(new DaemonClient(start(), "http://localhost", socket, null));
  }

  /** Returns a client of the daemon at {@code url} ({@code http://127.0.0.1:PORT} or {@code https://...}). */
  public static DaemonClient remote(URI url, String token) throws IOException {
    return remote(url, token, null);
  }

  /**
   * Returns a client of the daemon at {@code url}; over https it speaks TLS 1.3 only and, when
   * {@code caCert} is given, trusts the certificates in that PEM file (a self-signed daemon's own)
   * instead of the system's.
   */
  public static DaemonClient remote(URI url, String token, Path caCert) throws IOException {
    String scheme = url.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme)) {
      throw new IllegalArgumentException("remote " + url + " must be an http:// or https:// URL");
    }
    if (caCert != null && !"https".equals(scheme)) {
      throw new IllegalArgumentException("--ca-cert needs an https:// remote, not " + url);
    }
    String base = url.toString().replaceAll("/+$", "");
    return new DaemonClient(start(caCert), base, null, token);
  }

  private static HttpClient start() throws IOException {
    return start(null);
  }

  private static HttpClient start(Path caCert) throws IOException {
    HttpClient http = new HttpClient();
    http.setName("vstore-client");
    SslContextFactory.Client tls = new SslContextFactory.Client();
    tls.setIncludeProtocols("TLSv1.3");
    if (caCert != null) {
      tls.setTrustStore(PemTrust.load(caCert));
    }
    http.setSslContextFactory(tls);
    try {
      http.start();
    } catch (Exception e) {
      throw new IOException("cannot start the HTTP client: " + e.getMessage(), e);
    }
    return http;
  }

  /** Returns a description of where the daemon is, for messages. */
  public String where() {
    return socket != null ? socket.toString() : base;
  }

  /** Sends {@code body} (null: none) as JSON and returns the JSON reply (null for 204). */
  public JsonNode call(String method, String path, Object body) throws IOException {
    ContentResponse r;
    try {
      r = request(method, path, body).send();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the daemon at " + where(), e);
    } catch (ExecutionException | TimeoutException e) {
      throw unreachable(e);
    }
    if (r.getStatus() >= 400) {
      throw problem(r.getStatus(), r.getContentAsString());
    }
    String text = r.getContentAsString();
    return text == null || text.isEmpty() ? null : JSON.readTree(text);
  }

  /** Sends a request and returns the reply body as a stream (for NDJSON and event streams). */
  public InputStream stream(String method, String path, Object body) throws IOException {
    InputStreamResponseListener listener = new InputStreamResponseListener();
    request(method, path, body).timeout(0, TimeUnit.SECONDS).idleTimeout(0, TimeUnit.SECONDS).send(listener);
    Response r;
    try {
      r = listener.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the daemon at " + where(), e);
    } catch (ExecutionException | TimeoutException e) {
      throw unreachable(e);
    }
    InputStream in = listener.getInputStream();
    if (r.getStatus() >= 400) {
      try (in) {
        throw problem(r.getStatus(), new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    return in;
  }

  private Request request(String method, String path, Object body) throws IOException {
    Request req = http.newRequest(base + path).method(HttpMethod.fromString(method))
        .timeout(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    if (socket != null) {
      req.transport(new Transport.TCPUnix(socket));
    }
    if (token != null) {
      req.headers(h -> h.put("Authorization", "Bearer " + token));
    }
    if (body != null) {
      req.body(new BytesRequestContent("application/json", JSON.writeValueAsBytes(body)));
    }
    return req;
  }

  private IOException unreachable(Exception e) {
    Throwable cause = e.getCause() != null ? e.getCause() : e;
    return new IOException("cannot reach the daemon at " + where() + ": " + cause.getMessage(), cause);
  }

  private static DaemonException problem(int status, String text) {
    String detail = null;
    try {
      JsonNode p = JSON.readTree(text);
      if (p != null && p.hasNonNull("detail")) {
        detail = p.get("detail").asText();
      }
    } catch (IOException e) {
      // not a problem document: use the status alone
    }
    return new DaemonException(status, detail != null ? detail : "daemon answered HTTP " + status);
  }

  @Override
  public void close() throws IOException {
    try {
      http.stop();
    } catch (Exception e) {
      throw new IOException("cannot stop the HTTP client: " + e.getMessage(), e);
    }
  }
}
