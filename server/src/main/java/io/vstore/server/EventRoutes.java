package io.vstore.server;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.Router;
import io.vstore.server.metrics.EventJson;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The event stream: {@code GET /api/v1/events} as server-sent events ({@code id:} the event id,
 * {@code event:} its type, {@code data:} its JSON), replaying the kept events after
 * {@code Last-Event-ID} or {@code ?after=} first, with a comment line as heartbeat while quiet;
 * and {@code GET /api/v1/events/recent?after=ID}, the kept events as a JSON list. Streams end
 * cleanly when the daemon closes, and when a client falls so far behind that the bus cuts it off
 * (it reconnects with {@code Last-Event-ID} and misses nothing still kept).
 */
final class EventRoutes implements Closeable {
  /** How long a stream may stay silent before a heartbeat comment keeps proxies and clients from timing out. */
  static final Duration HEARTBEAT = Duration.ofSeconds(15);
  /** How often a waiting stream looks whether the daemon is closing. */
  private static final long POLL_MILLIS = 250;
  /** How long {@link #close} lets open streams finish. */
  private static final long CLOSE_MILLIS = 5_000;
  private static final System.Logger LOG = System.getLogger("io.vstore.server");

  private final EventBus bus;
  private final Duration heartbeat;
  private volatile boolean closed;
  @GuardedBy("this")
  private int streams;

  /** Serves {@code bus}'s events, with a heartbeat after {@code heartbeat} of silence. */
  EventRoutes(EventBus bus, Duration heartbeat) {
    this.bus = bus;
    this.heartbeat = heartbeat;
  }

  /** Adds the routes to {@code router}. */
  void addRoutes(Router router) {
    router.add("GET", "/api/v1/events", Scope.READ,
        "Events as they happen (server-sent events), after replaying those since Last-Event-ID or ?after=.",
        this::stream);
    router.add("GET", "/api/v1/events/recent", Scope.READ, "The most recent events kept, oldest first.",
        ex -> {
          long after = parseId(ex.query("after"), "after");
          ex.json(200, bus.recent(Math.max(0, after)).stream().map(EventJson::of).toList());
        });
  }

  /** Returns the id in {@code value} (from {@code where}), or -1 when absent. */
  private static long parseId(String value, String where) {
    if (value == null || value.isBlank()) {
      return -1;
    }
    try {
      long id = Long.parseLong(value.strip());
      if (id >= 0) {
        return id;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw ApiException.badRequest(where + " must be an event id (a number 0 or above), not '" + value + "'");
  }

  private void stream(Exchange ex) throws Exception {
    long after = parseId(ex.header("Last-Event-ID"), "Last-Event-ID");
    if (after < 0) {
      after = parseId(ex.query("after"), "after");
    }
    synchronized (this) {
      if (closed) {
        throw new ApiException(503, "the daemon is shutting down");
      }
      streams++;
    }
    // Subscribed before the replay is read: nothing published in between is missed; what both
    // deliver is sent once, by id.
    try (EventBus.Subscription sub = bus.subscribe();
        OutputStream out = ex.stream(200, "text/event-stream; charset=utf-8")) {
      long last = after;
      write(out, "retry: 2000\n\n"); // start the response now, so the client sees the stream open
      if (after >= 0) {
        for (Event e : bus.recent(after)) {
          send(out, e);
          last = e.id();
        }
      }
      long quietSince = System.nanoTime();
      while (!closed) {
        Event e;
        try {
          e = sub.poll(POLL_MILLIS);
        } catch (IllegalStateException behind) {
          LOG.log(System.Logger.Level.DEBUG, "event stream cut off: " + behind.getMessage());
          break;
        }
        if (e != null && e.id() > last) {
          send(out, e);
          last = e.id();
          quietSince = System.nanoTime();
        } else if (e == null && System.nanoTime() - quietSince >= heartbeat.toNanos()) {
          write(out, ": heartbeat\n\n");
          quietSince = System.nanoTime();
        }
      }
    } catch (IOException gone) {
      // The client went away: nothing to answer.
      LOG.log(System.Logger.Level.DEBUG, "event stream client gone: " + gone);
    } finally {
      synchronized (this) {
        streams--;
        notifyAll();
      }
    }
  }

  private static void send(OutputStream out, Event e) throws IOException {
    String json = Exchange.JSON.writeValueAsString(EventJson.of(e));
    write(out, "id: " + e.id() + "\nevent: " + e.type() + "\ndata: " + json + "\n\n");
  }

  private static void write(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** Ends every open stream (each finishes its response) and refuses new ones; waits a little for them. */
  @Override
  public synchronized void close() {
    closed = true;
    long until = System.nanoTime() + CLOSE_MILLIS * 1_000_000;
    try {
      for (long left; streams > 0 && (left = until - System.nanoTime()) > 0; ) {
        wait(Math.max(1, left / 1_000_000));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
