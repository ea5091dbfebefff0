package io.vstore.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.http.Exchange;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server-sent event stream and the recent-events list, read as a browser's EventSource would. */
class EventRoutesTest {
  @TempDir Path tmp;

  /** One event as the stream carries it. */
  record Sse(String id, String type, JsonNode data) {}

  /** Reads the stream's events (skipping comments and the retry field); null at its end. */
  static final class SseReader implements AutoCloseable {
    private final BufferedReader in;
    final List<String> comments = new java.util.concurrent.CopyOnWriteArrayList<>();

    SseReader(InputStream in) {
      this.in = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }

    Sse next() throws Exception {
      String id = null;
      String type = null;
      StringBuilder data = null;
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isEmpty()) {
          if (data != null) {
            return new Sse(id, type, Exchange.JSON.readTree(data.toString()));
          }
          continue;
        }
        if (line.startsWith(":")) {
          comments.add(line);
        } else if (line.startsWith("id: ")) {
          id = line.substring(4);
        } else if (line.startsWith("event: ")) {
          type = line.substring(7);
        } else if (line.startsWith("data: ")) {
          data = (data == null ? new StringBuilder() : data.append('\n')).append(line.substring(6));
        }
      }
      return null;
    }

    @Override
    public void close() throws Exception {
      in.close();
    }
  }

  private static HttpResponse<InputStream> open(HttpClient http, TestDaemon d, String query, String lastEventId)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(d.baseUrl() + "/api/v1/events" + query))
        .header("Authorization", "Bearer " + d.adminToken());
    if (lastEventId != null) {
      b.header("Last-Event-ID", lastEventId);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
  }

  @Test
  void streamsEventsInOrderAndReplaysThoseMissedAfterReconnectingWithLastEventId() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds")); HttpClient http = HttpClient.newHttpClient()) {
      EventBus bus = d.daemon().events();
      long before = bus.recent(0).stream().mapToLong(Event::id).max().orElse(0);
      HttpResponse<InputStream> first = open(http, d, "", null);
      assertThat(first.statusCode()).isEqualTo(200);
      assertThat(first.headers().firstValue("Content-Type")).hasValueSatisfying(
          t -> assertThat(t).startsWith("text/event-stream"));
      List<Event> published = new ArrayList<>();
      try (SseReader r = new SseReader(first.body())) {
        for (int i = 0; i < 5; i++) {
          published.add(bus.publish("volume.created", "ds", Map.of("name", "v" + i)));
        }
        for (int i = 0; i < 3; i++) {
          Sse e = r.next();
          assertThat(e.id()).isEqualTo(String.valueOf(published.get(i).id()));
          assertThat(e.type()).isEqualTo("volume.created");
          assertThat(e.data().get("id").asLong()).isEqualTo(published.get(i).id());
          assertThat(e.data().get("datastore").asText()).isEqualTo("ds");
          assertThat(e.data().get("data").get("name").asText()).isEqualTo("v" + i);
          assertThat(e.data().get("time").asText()).isEqualTo(published.get(i).time().toString());
        }
      } // the client saw v0..v2 and went away
      for (int i = 5; i < 7; i++) {
        published.add(bus.publish("snapshot.created", "ds", Map.of("name", "v" + i)));
      }
      String lastSeen = String.valueOf(published.get(2).id());
      try (SseReader r = new SseReader(open(http, d, "", lastSeen).body())) {
        for (int i = 3; i < 7; i++) {
          Sse e = r.next();
          assertThat(e.id()).as("replayed in order").isEqualTo(String.valueOf(published.get(i).id()));
          assertThat(e.data().get("data").get("name").asText()).isEqualTo("v" + i);
        }
        Event live = bus.publish("job.state", null, Map.of("state", "running"));
        Sse e = r.next();
        assertThat(e.id()).as("then live, once").isEqualTo(String.valueOf(live.id()));
        assertThat(e.data().get("datastore").isNull()).isTrue();
      }
      // ?after= does the same for clients that cannot set the header.
      try (SseReader r = new SseReader(open(http, d, "?after=" + before, null).body())) {
        assertThat(r.next().id()).isEqualTo(String.valueOf(published.getFirst().id()));
      }
    }
  }

  @Test
  void theStreamEndsCleanlyWhenTheDaemonCloses() throws Exception {
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor(); HttpClient http = HttpClient.newHttpClient()) {
      TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"));
      List<String> ids = new java.util.concurrent.CopyOnWriteArrayList<>();
      Future<?> read;
      Event e;
      try {
        HttpResponse<InputStream> r = open(http, d, "", null);
        assertThat(r.statusCode()).isEqualTo(200);
        SseReader reader = new SseReader(r.body());
        read = pool.submit(() -> {
          for (Sse s; (s = reader.next()) != null; ) {
            ids.add(s.id());
          }
          return null; // the end of the stream, not an error
        });
        e = d.daemon().events().publish("export.added", "ds", Map.of("name", "e1"));
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (ids.isEmpty() && System.nanoTime() < until) {
          Thread.sleep(20);
        }
      } finally {
        d.close();
      }
      read.get(30, TimeUnit.SECONDS);
      assertThat(ids).containsExactly(String.valueOf(e.id()));
    }
  }

  @Test
  void recentListsKeptEventsAfterAnIdAndRejectsABadOne() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Event a = d.daemon().events().publish("volume.created", "ds", Map.of("name", "a"));
      Event b = d.daemon().events().publish("volume.deleted", "ds", Map.of("name", "a"));
      TestDaemon.Reply all = d.unix("GET", "/api/v1/events/recent", null);
      assertThat(all.status()).isEqualTo(200);
      assertThat(all.json().findValuesAsText("type")).containsSubsequence("volume.created", "volume.deleted");
      TestDaemon.Reply after = d.tcp("GET", "/api/v1/events/recent?after=" + a.id(), null, d.adminToken());
      assertThat(after.status()).isEqualTo(200);
      assertThat(after.json()).hasSize(1);
      assertThat(after.json().get(0).get("id").asLong()).isEqualTo(b.id());
      assertThat(after.json().get(0).get("data").get("name").asText()).isEqualTo("a");

      TestDaemon.Reply bad = d.unix("GET", "/api/v1/events/recent?after=yesterday", null);
      assertThat(bad.status()).isEqualTo(400);
      assertThat(bad.json().get("detail").asText()).isEqualTo(
          "after must be an event id (a number 0 or above), not 'yesterday'");
      assertThat(d.unix("GET", "/api/v1/events?after=-3", null).status()).isEqualTo(400);
      assertThat(d.tcp("GET", "/api/v1/events/recent", null, null).status()).isEqualTo(401);
    }
  }

  @Test
  void theOpenApiDocumentDescribesTheEventRoutes() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      JsonNode paths = d.unix("GET", "/api/v1/openapi.json", null).json().get("paths");
      for (io.vstore.server.http.Route r : d.daemon().router().routes()) {
        if (r.pattern().startsWith("/api/v1/events")) {
          assertThat(paths.path(r.pattern()).path(r.method().toLowerCase(java.util.Locale.ROOT)).path("summary").asText())
              .as(r.method() + " " + r.pattern()).isEqualTo(r.summary());
        }
      }
      assertThat(paths.has("/api/v1/events")).isTrue();
      assertThat(paths.has("/api/v1/events/recent")).isTrue();
      assertThat(paths.has("/metrics")).as("not part of the API document").isFalse();
    }
  }

  @Test
  void aQuietStreamGetsHeartbeats() throws Exception {
    EventBus bus = new EventBus();
    EventRoutes routes = new EventRoutes(bus, Duration.ofMillis(300));
    io.vstore.server.http.Router router = new io.vstore.server.http.Router();
    routes.addRoutes(router);
    Path socket = tmp.resolve("events.sock");
    io.vstore.server.auth.TokenStore tokens = io.vstore.server.auth.TokenStore.open(tmp);
    try (io.vstore.server.http.ApiServer api = io.vstore.server.http.ApiServer.start(router, tokens,
        new io.vstore.server.http.ApiServer.Options(List.of(socket), null, null, 8, Duration.ofSeconds(30)))) {
      org.eclipse.jetty.client.HttpClient client = new org.eclipse.jetty.client.HttpClient();
      client.start();
      try {
        var listener = new org.eclipse.jetty.client.InputStreamResponseListener();
        client.newRequest("http://localhost/api/v1/events")
            .transport(new org.eclipse.jetty.io.Transport.TCPUnix(socket)).send(listener);
        assertThat(listener.get(30, TimeUnit.SECONDS).getStatus()).isEqualTo(200);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
            SseReader r = new SseReader(listener.getInputStream())) {
          Future<Sse> next = pool.submit(r::next);
          long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
          while (r.comments.size() < 2 && System.nanoTime() < until) {
            Thread.sleep(50);
          }
          assertThat(List.copyOf(r.comments)).hasSizeGreaterThanOrEqualTo(2).allMatch(c -> c.equals(": heartbeat"));
          Event e = bus.publish("job.progress", "ds", Map.of("done", 1));
          assertThat(next.get(30, TimeUnit.SECONDS).id()).isEqualTo(String.valueOf(e.id()));
        }
      } finally {
        routes.close();
        client.stop();
      }
    }
  }
}
