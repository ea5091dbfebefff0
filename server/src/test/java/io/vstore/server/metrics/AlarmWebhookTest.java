package io.vstore.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.Daemon;
import io.vstore.server.DaemonConfig;
import io.vstore.server.Event;
import io.vstore.server.EventBus;
import io.vstore.server.http.Exchange;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Alarm webhooks against a small local receiver. */
class AlarmWebhookTest {
  @TempDir Path tmp;
  private HttpServer server;
  /** Every POST the receiver got: body as JSON. */
  private final List<JsonNode> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger attempts = new AtomicInteger();

  /** Starts a receiver that answers attempt {@code n} (from 1) with 500 when {@code fails.test(n)}, else 204. */
  private URI receiver(IntPredicate fails) throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/hook", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      int n = attempts.incrementAndGet();
      boolean fail = fails.test(n) || !"application/json".equals(exchange.getRequestHeaders().getFirst("Content-Type"))
          || !"POST".equals(exchange.getRequestMethod());
      if (!fail) {
        received.add(Exchange.JSON.readTree(body));
      }
      exchange.sendResponseHeaders(fail ? 500 : 204, -1);
      exchange.close();
    });
    server.start();
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  private void awaitReceived(int n) throws InterruptedException {
    long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (received.size() < n && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    assertThat(received).as("events delivered (after %d attempts)", attempts.get()).hasSizeGreaterThanOrEqualTo(n);
  }

  @Test
  void retriesAReceiverThatFailsTheFirstAttemptsAndDeliversInOrder() throws Exception {
    URI uri = receiver(n -> n <= 2);
    EventBus bus = new EventBus();
    try (AlarmWebhook hook = new AlarmWebhook(uri, 5, Duration.ofMillis(10), 10)) {
      Event first = bus.publish("alarm.raised", "ds", Map.of("level", "warning"));
      Event second = bus.publish("alarm.cleared", "ds", Map.of("level", "warning"));
      hook.offer(first);
      hook.offer(second);
      awaitReceived(2);
      assertThat(attempts.get()).isEqualTo(4); // 2 failures, then one each
      assertThat(received).extracting(j -> j.get("id").asLong()).containsExactly(first.id(), second.id());
      assertThat(received.getFirst().get("type").asText()).isEqualTo("alarm.raised");
      assertThat(received.getFirst().get("datastore").asText()).isEqualTo("ds");
      assertThat(received.getFirst().get("data").get("level").asText()).isEqualTo("warning");
      assertThat(hook.dropped()).isZero();
    }
  }

  @Test
  void givesUpOnAnEventAfterItsAttemptsAndGoesOnToTheNext() throws Exception {
    URI uri = receiver(n -> n <= 3);
    EventBus bus = new EventBus();
    try (AlarmWebhook hook = new AlarmWebhook(uri, 3, Duration.ofMillis(10), 10)) {
      hook.offer(bus.publish("alarm.raised", "ds", Map.of("level", "warning")));
      Event next = bus.publish("alarm.raised", "ds", Map.of("level", "critical"));
      hook.offer(next);
      awaitReceived(1);
      assertThat(attempts.get()).isEqualTo(4);
      assertThat(received).extracting(j -> j.get("id").asLong()).containsExactly(next.id());
    }
  }

  @Test
  void aFullQueueDropsTheOldestWithoutBlockingTheCaller() throws Exception {
    URI uri = receiver(n -> true); // never succeeds: the first event holds the sender in its retries
    EventBus bus = new EventBus();
    try (AlarmWebhook hook = new AlarmWebhook(uri, 1000, Duration.ofMillis(50), 2)) {
      for (int i = 0; i < 10; i++) {
        hook.offer(bus.publish("alarm.raised", "ds", Map.of("i", i)));
      }
      assertThat(hook.dropped()).isEqualTo(8);
    }
  }

  @Test
  void refusesAUrlThatIsNotHttp() {
    assertThatThrownBy(() -> new AlarmWebhook(URI.create("ftp://example.invalid/x"), 1, Duration.ZERO, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--alarm-webhook must be an http:// or https:// URL, not ftp://example.invalid/x");
  }

  @Test
  void theDaemonPostsItsDatastoresAlarms() throws Exception {
    URI uri = receiver(n -> n == 1);
    Path dir = tmp.resolve("ds");
    Datastore.create(dir, DatastoreOptions.defaults(), 0).close();
    DaemonConfig config = new DaemonConfig(List.of(dir), false, null, null, null, new InetSocketAddress("127.0.0.1", 0),
        uri, 2);
    try (Daemon daemon = Daemon.start(config, null)) {
      Datastore store = daemon.byName("ds").store();
      try (Volume v = store.createVolume("vm1", 4 << 20)) {
        v.write(0, MetricsTest.random(1 << 20));
      }
      store.setCapacity(store.info().used() * 2, 10, 40);
      awaitReceived(1);
      JsonNode e = received.getFirst();
      assertThat(e.get("type").asText()).isEqualTo("alarm.raised");
      assertThat(e.get("datastore").asText()).isEqualTo("ds");
      assertThat(e.get("data").get("level").asText()).isEqualTo("critical");
      assertThat(daemon.events().recent(0)).extracting(Event::id).contains(e.get("id").asLong());
    }
  }
}
