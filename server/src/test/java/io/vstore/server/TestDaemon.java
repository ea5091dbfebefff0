package io.vstore.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.server.auth.TokenStore;
import io.vstore.server.http.Exchange;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Transport;

/**
 * A daemon on fresh datastores for tests, with HTTP clients for its Unix socket and its loopback
 * TCP listener (which needs the admin token, or another).
 */
public final class TestDaemon implements AutoCloseable {
  /** An HTTP reply: status, content type and body. */
  public record Reply(int status, String contentType, String body) {
    /** Parses the body as JSON. */
    public JsonNode json() throws IOException {
      return Exchange.JSON.readTree(body);
    }
  }

  private final Daemon daemon;
  private final HttpClient client;
  private final Path socket;

  private TestDaemon(Daemon daemon, HttpClient client, Path socket) {
    this.daemon = daemon;
    this.client = client;
    this.socket = socket;
  }

  /** Returns the HTTP client (for streams and concurrent requests). */
  public HttpClient client() {
    return client;
  }

  /** Creates a datastore in each of {@code dirs} (if missing) and starts a daemon on them, with TCP on loopback. */
  public static TestDaemon start(CommandRunner runner, Path... dirs) throws Exception {
    for (Path dir : dirs) {
      if (!Files.exists(dir.resolve("datastore.json"))) {
        Datastore.create(dir, DatastoreOptions.defaults(), 64L << 30).close();
      }
    }
    DaemonConfig config = new DaemonConfig(List.of(dirs), false, new InetSocketAddress("127.0.0.1", 0), null, null,
        new InetSocketAddress("127.0.0.1", 0), null, 2);
    Daemon daemon = Daemon.start(config, runner);
    HttpClient client = new HttpClient();
    client.start();
    return new TestDaemon(daemon, client, dirs[0].resolve(Daemon.SOCKET));
  }

  /** Returns the daemon. */
  public Daemon daemon() {
    return daemon;
  }

  /** Returns the admin token the daemon wrote on first start. */
  public String adminToken() throws IOException {
    return Files.readString(daemon.all().getFirst().path().resolve(TokenStore.ADMIN_FILE)).strip();
  }

  /** Returns the base URL of the TCP listener. */
  public String baseUrl() {
    return "http://127.0.0.1:" + daemon.api().tcpPort();
  }

  /** Sends a request over the first datastore's Unix socket; {@code json} may be null. */
  public Reply unix(String method, String path, String json) throws Exception {
    return send(client.newRequest("http://localhost" + path).transport(new Transport.TCPUnix(socket)), method, json, null);
  }

  /** Sends a request over TCP with {@code token} (null: none); {@code json} may be null. */
  public Reply tcp(String method, String path, String json, String token) throws Exception {
    return send(client.newRequest(baseUrl() + path), method, json, token);
  }

  private static Reply send(Request request, String method, String json, String token) throws Exception {
    request.method(HttpMethod.fromString(method)).timeout(60, TimeUnit.SECONDS);
    if (json != null) {
      request.body(new StringRequestContent("application/json", json));
    }
    if (token != null) {
      request.headers(h -> h.put("Authorization", "Bearer " + token));
    }
    ContentResponse r = request.send();
    return new Reply(r.getStatus(), r.getMediaType(), r.getContentAsString());
  }

  @Override
  public void close() throws Exception {
    client.stop();
    daemon.close();
  }
}
