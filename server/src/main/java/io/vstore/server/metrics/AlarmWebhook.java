package io.vstore.server.metrics;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.server.Event;
import io.vstore.server.http.Exchange;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Locale;

/**
 * POSTs alarm events as JSON to {@code --alarm-webhook URL}, in order, on its own thread: whoever
 * offers an event never waits for the receiver. A failed delivery (no answer, or a status other
 * than 2xx) is retried with exponential backoff up to a bounded number of attempts; the queue is
 * bounded too, and when it is full the oldest undelivered event is dropped (and logged).
 */
final class AlarmWebhook implements Closeable {
  /** How many times an event is tried before it is given up (and logged). */
  static final int ATTEMPTS = 6;
  /** The wait before the first retry; each later one waits twice as long as the one before. */
  static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
  /** The longest wait between two attempts. */
  static final Duration MAX_BACKOFF = Duration.ofMinutes(1);
  /** How many events may wait for delivery; beyond that the oldest is dropped. */
  static final int QUEUE = 100;
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final System.Logger LOG = System.getLogger("io.vstore.server.alarms");

  private final URI target;
  private final int attempts;
  private final Duration firstBackoff;
  private final int bound;
  private final HttpClient http;
  @GuardedBy("this")
  private final ArrayDeque<Event> queue = new ArrayDeque<>();
  @GuardedBy("this")
  private boolean closed;
  @GuardedBy("this")
  private long dropped;
  private final Thread sender;

  /**
   * Starts delivering to {@code target} (http or https): each event up to {@code attempts} times,
   * waiting {@code firstBackoff}, then twice as long each time (at most a minute), with up to
   * {@code bound} events waiting.
   */
  AlarmWebhook(URI target, int attempts, Duration firstBackoff, int bound) {
    String scheme = target.getScheme() == null ? "" : target.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || target.getHost() == null) {
      throw new IllegalArgumentException("--alarm-webhook must be an http:// or https:// URL, not " + target);
    }
    if (attempts < 1 || bound < 1 || firstBackoff.isNegative()) {
      throw new IllegalArgumentException("bad webhook settings: " + attempts + " attempts, backoff " + firstBackoff
          + ", queue " + bound);
    }
    this.target = target;
    this.attempts = attempts;
    this.firstBackoff = firstBackoff;
    this.bound = bound;
    this.http = HttpClient.newBuilder().connectTimeout(TIMEOUT).followRedirects(HttpClient.Redirect.NEVER).build();
    this.sender = Thread.ofPlatform().daemon().name("vstore-alarm-webhook").start(this::run);
  }

  /** Queues {@code e} for delivery; never blocks. */
  void offer(Event e) {
    synchronized (this) {
      if (closed) {
        return;
      }
      if (queue.size() >= bound) {
        Event lost = queue.removeFirst();
        dropped++;
        LOG.log(System.Logger.Level.WARNING, "alarm webhook {0} is behind by {1} events: dropped event {2} ({3})",
            target, bound, lost.id(), lost.type());
      }
      queue.addLast(e);
      notifyAll();
    }
  }

  /** Returns how many events were dropped because the queue was full. */
  synchronized long dropped() {
    return dropped;
  }

  private void run() {
    while (true) {
      Event e;
      synchronized (this) {
        while (queue.isEmpty() && !closed) {
          try {
            wait();
          } catch (InterruptedException ie) {
            return;
          }
        }
        if (closed) {
          return;
        }
        e = queue.peekFirst();
      }
      try {
        deliver(e);
      } catch (InterruptedException ie) {
        return;
      }
      synchronized (this) {
        queue.remove(e); // still the first, unless it was dropped meanwhile
      }
    }
  }

  /** Tries {@code e} until it is delivered, the attempts run out, or the webhook closes. */
  private void deliver(Event e) throws InterruptedException {
    byte[] body;
    try {
      body = Exchange.JSON.writeValueAsBytes(EventJson.of(e));
    } catch (IOException ex) {
      LOG.log(System.Logger.Level.ERROR, "cannot write event " + e.id() + " as JSON", ex);
      return;
    }
    HttpRequest request = HttpRequest.newBuilder(target).timeout(TIMEOUT).header("Content-Type", "application/json")
        .header("User-Agent", "vstore").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    Duration backoff = firstBackoff;
    for (int attempt = 1; ; attempt++) {
      String failure;
      try {
        HttpResponse<Void> r = http.send(request, HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() / 100 == 2) {
          return;
        }
        failure = "status " + r.statusCode();
      } catch (IOException ex) {
        failure = ex.toString();
      }
      if (attempt >= attempts) {
        LOG.log(System.Logger.Level.WARNING, "alarm webhook {0}: gave up on event {1} ({2}) after {3} attempts: {4}",
            target, e.id(), e.type(), attempt, failure);
        return;
      }
      LOG.log(System.Logger.Level.DEBUG, "alarm webhook {0}: attempt {1} for event {2} failed ({3}), retrying in {4}",
          target, attempt, e.id(), failure, backoff);
      synchronized (this) {
        long until = System.nanoTime() + backoff.toNanos();
        for (long left; !closed && (left = until - System.nanoTime()) > 0; ) {
          wait(Math.max(1, left / 1_000_000));
        }
        if (closed) {
          throw new InterruptedException("closed");
        }
        if (!queue.contains(e)) {
          return; // dropped meanwhile to make room for newer events: they go first
        }
      }
      backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
    }
  }

  /** Stops delivering; events still queued are dropped. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      notifyAll();
    }
    sender.interrupt(); // ends a request in flight: the JDK client aborts it
    try {
      sender.join(TIMEOUT.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    http.close();
  }
}
