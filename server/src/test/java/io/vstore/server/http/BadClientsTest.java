package io.vstore.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.server.TestDaemon;
import io.vstore.server.auth.TokenStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.CompletableResponseListener;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.OutputStreamRequestContent;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.http.HttpMethod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slow, idle and greedy clients: an idle connection and a request that stops half-way are closed
 * after the idle timeout, connections over the limit wait without harming the ones served, and a
 * body over 1 MiB sent without a length (chunked) is a 413 that changes nothing. (Bodies over 1 MiB
 * with a Content-Length are in BadRequestsTest.)
 */
final class BadClientsTest {
  /** How long a test waits for something that must happen (a failure bound, not a timing claim). */
  private static final int PATIENCE_MS = 30_000;

  @TempDir Path tmp;

  private ApiServer start(int maxConnections, Duration idle) throws IOException {
    Router router = new Router();
    router.add("GET", "/ping", null, "Answers pong.", ex -> ex.json(200, Map.of("pong", true)));
    return ApiServer.start(router, TokenStore.open(tmp),
        new ApiServer.Options(List.of(tmp.resolve("api.sock")), new InetSocketAddress("127.0.0.1", 0), null,
            maxConnections, idle));
  }

  private static Socket connect(ApiServer api) throws IOException {
    Socket s = new Socket("127.0.0.1", api.tcpPort());
    s.setSoTimeout(PATIENCE_MS);
    return s;
  }

  private static final byte[] PING = "GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  /** Sends a keep-alive GET /ping and returns the status line of its answer (reading the whole answer). */
  private static String ping(Socket s) throws IOException {
    s.getOutputStream().write(PING);
    s.getOutputStream().flush();
    return readResponse(s.getInputStream());
  }

  /** Reads one HTTP/1.1 response (with a Content-Length or chunked) and returns its status line. */
  private static String readResponse(InputStream in) throws IOException {
    String status = line(in);
    int length = -1;
    boolean chunked = false;
    for (String h = line(in); !h.isEmpty(); h = line(in)) {
      if (h.regionMatches(true, 0, "Content-Length:", 0, 15)) {
        length = Integer.parseInt(h.substring(15).trim());
      } else if (h.regionMatches(true, 0, "Transfer-Encoding:", 0, 18)) {
        chunked = h.substring(18).trim().equalsIgnoreCase("chunked");
      }
    }
    if (chunked) {
      for (int size = Integer.parseInt(line(in).trim(), 16); size > 0; size = Integer.parseInt(line(in).trim(), 16)) {
        assertThat(in.readNBytes(size)).hasSize(size);
        assertThat(line(in)).isEmpty();
      }
      for (String trailer = line(in); !trailer.isEmpty(); trailer = line(in)) {
        // trailers: none expected, skipped
      }
    } else {
      assertThat(length).as("Content-Length of %s", status).isNotNegative();
      assertThat(in.readNBytes(length)).hasSize(length);
    }
    return status;
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("connection closed in the middle of a response line: " + b);
      }
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.US_ASCII);
  }

  @Test
  void closesIdleConnectionsAndRequestsThatStopHalfWay() throws Exception {
    try (ApiServer api = start(16, Duration.ofMillis(300)); Socket idle = connect(api); Socket slow = connect(api);
        Socket used = connect(api)) {
      slow.getOutputStream().write("GET /ping HTTP/1.1\r\nHost: loc".getBytes(StandardCharsets.US_ASCII));
      slow.getOutputStream().flush();
      assertThat(ping(used)).isEqualTo("HTTP/1.1 200 OK");
      // The server closes each of them: read() sees the end of the stream (an answer, or the
      // socket timeout, would fail the test). The half-sent request may get a 408/400 first.
      assertThat(idle.getInputStream().read()).isEqualTo(-1);
      assertThat(drain(slow.getInputStream())).doesNotContain("200 OK");
      assertThat(used.getInputStream().read()).as("a kept-alive connection left idle").isEqualTo(-1);
      try (Socket fresh = connect(api)) {
        assertThat(ping(fresh)).as("the server still serves new clients").isEqualTo("HTTP/1.1 200 OK");
      }
    }
  }

  private static String drain(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
  }

  @Test
  void connectionsOverTheLimitWaitWithoutHarmingTheOthers() throws Exception {
    int limit = 4;
    try (ApiServer api = start(limit, Duration.ofSeconds(60))) {
      List<Socket> held = new ArrayList<>();
      try {
        for (int i = 0; i < limit; i++) {
          held.add(connect(api));
          assertThat(ping(held.getLast())).isEqualTo("HTTP/1.1 200 OK");
        }
        try (Socket extra = connect(api)) { // the kernel's backlog takes it; the server does not accept it yet
          extra.getOutputStream().write(PING);
          extra.getOutputStream().flush();
          for (Socket s : held) {
            assertThat(ping(s)).as("a connection within the limit, while another waits").isEqualTo("HTTP/1.1 200 OK");
          }
          extra.setSoTimeout(1_000);
          assertThatThrownBy(() -> extra.getInputStream().read())
              .as("the connection over the limit is not served while the others are open")
              .isInstanceOf(SocketTimeoutException.class);
          held.removeFirst().close();
          extra.setSoTimeout(PATIENCE_MS);
          assertThat(readResponse(extra.getInputStream())).as("served once a slot is free").isEqualTo("HTTP/1.1 200 OK");
        }
        for (Socket s : held) {
          assertThat(ping(s)).isEqualTo("HTTP/1.1 200 OK");
        }
      } finally {
        for (Socket s : held) {
          s.close();
        }
      }
    }
  }

  @Test
  void aChunkedBodyOverOneMebibyteIsA413AndChangesNothing() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      assertThat(d.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1\", \"size\": 1048576}").status()).isEqualTo(201);
      String before = d.unix("GET", "/api/v1/volumes", null).body();
      OutputStreamRequestContent content = new OutputStreamRequestContent("application/json");
      String token = d.adminToken();
      Request request = d.client().newRequest(d.baseUrl() + "/api/v1/volumes").method(HttpMethod.POST)
          .headers(h -> h.put("Authorization", "Bearer " + token))
          .body(content).timeout(60, TimeUnit.SECONDS);
      CompletableFuture<ContentResponse> answer = new CompletableResponseListener(request, 64 * 1024).send();
      // No Content-Length: the server can only tell the size by reading, and must stop after 1 MiB.
      try (OutputStream out = content.getOutputStream()) {
        out.write("{\"name\": \"big\", \"size\": 512, \"pad\": \"".getBytes(StandardCharsets.US_ASCII));
        byte[] chunk = "x".repeat(64 * 1024).getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 20 && !answer.isDone(); i++) {
          out.write(chunk);
          out.flush();
        }
        out.write("\"}".getBytes(StandardCharsets.US_ASCII));
      } catch (IOException e) {
        // the server may answer and close before the whole body is sent: that is what it should do
      }
      ContentResponse r = answer.get(60, TimeUnit.SECONDS);
      assertThat(r.getStatus()).as(r.getContentAsString()).isEqualTo(413);
      assertThat(r.getMediaType()).isEqualTo("application/problem+json");
      assertThat(d.unix("GET", "/api/v1/volumes", null).body()).isEqualTo(before);
      assertThat(d.unix("GET", "/api/v1/volumes/big", null).status()).isEqualTo(404);
    }
  }
}
