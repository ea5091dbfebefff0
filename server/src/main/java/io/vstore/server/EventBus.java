package io.vstore.server;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.Closeable;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Publishes events to subscribers (the SSE stream, the dashboard, webhooks) and keeps the most
 * recent ones for late readers. Publishing never blocks: a subscriber whose bounded queue is full
 * is cut off (its stream ends, and a client reconnects with {@code Last-Event-ID}).
 */
public final class EventBus {
  /** How many recent events are kept for {@link #recent} and reconnecting clients. */
  static final int RECENT = 1000;
  /** How many undelivered events one subscriber may hold before it is cut off. */
  static final int SUBSCRIBER_QUEUE = 4096;

  private final CopyOnWriteArrayList<Subscription> subscribers = new CopyOnWriteArrayList<>();
  @GuardedBy("this")
  private final ArrayDeque<Event> recent = new ArrayDeque<>();
  @GuardedBy("this")
  private long nextId = 1;

  /** Publishes an event of {@code type} about {@code datastore} (may be null) with {@code data}. */
  public Event publish(String type, String datastore, Map<String, Object> data) {
    Event e;
    synchronized (this) {
      e = new Event(nextId++, Instant.now(), type, datastore, Map.copyOf(data));
      recent.addLast(e);
      if (recent.size() > RECENT) {
        recent.removeFirst();
      }
    }
    for (Subscription s : subscribers) {
      if (!s.queue.offer(e)) {
        s.overflowed = true;
        subscribers.remove(s);
      }
    }
    return e;
  }

  /** Returns the kept events with an id above {@code afterId}, oldest first. */
  public synchronized List<Event> recent(long afterId) {
    List<Event> out = new ArrayList<>();
    for (Event e : recent) {
      if (e.id() > afterId) {
        out.add(e);
      }
    }
    return out;
  }

  /** Subscribes to events published from now on; close the subscription to stop. */
  public Subscription subscribe() {
    Subscription s = new Subscription(this);
    subscribers.add(s);
    return s;
  }

  /** One subscriber's queue of events. */
  public static final class Subscription implements Closeable {
    private final EventBus bus;
    private final BlockingQueue<Event> queue = new ArrayBlockingQueue<>(SUBSCRIBER_QUEUE);
    private volatile boolean overflowed;

    private Subscription(EventBus bus) {
      this.bus = bus;
    }

    /**
     * Returns the next event, or null after {@code timeoutMillis} without one.
     *
     * @throws IllegalStateException if this subscriber fell too far behind and was cut off
     */
    public Event poll(long timeoutMillis) throws InterruptedException {
      Event e = queue.poll(timeoutMillis, TimeUnit.MILLISECONDS);
      if (e == null && overflowed) {
        throw new IllegalStateException("event subscriber fell more than " + SUBSCRIBER_QUEUE + " events behind");
      }
      return e;
    }

    @Override
    public void close() {
      bus.subscribers.remove(this);
    }
  }
}
