package io.vstore.server.metrics;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.store.Alarm;
import io.vstore.blockstore.store.DatastoreInfo;
import io.vstore.server.Event;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import java.io.Closeable;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Watches each datastore's capacity alarm level (the blockstore raises and clears alarms as usage
 * moves, but tells no one) and publishes {@code alarm.raised} when a datastore's level rises and
 * {@code alarm.cleared} when it falls, handing each such event to {@code sink} (the webhook) too.
 * Event data: {@code level} (the level raised or cleared: warning, critical), {@code current}
 * (the level now: normal, warning, critical), and {@code message}.
 */
final class AlarmWatcher implements Closeable {
  /** How often the levels are looked at. */
  static final Duration INTERVAL = Duration.ofSeconds(2);
  private static final System.Logger LOG = System.getLogger("io.vstore.server.alarms");

  private final List<ManagedDatastore> datastores;
  private final EventBus events;
  private final Consumer<Event> sink;
  /** The last level seen per datastore name; null (absent) is normal. */
  @GuardedBy("this")
  private final Map<String, Alarm.Level> levels = new HashMap<>();
  private final Thread thread;
  private volatile boolean closed;
  /** Where the watcher waits between looks; closing wakes it (no interrupt: it may be in file I/O). */
  private final Object wakeup = new Object();

  /** Starts watching {@code datastores} every {@code interval}. */
  AlarmWatcher(List<ManagedDatastore> datastores, EventBus events, Consumer<Event> sink, Duration interval) {
    this.datastores = List.copyOf(datastores);
    this.events = events;
    this.sink = sink;
    this.thread = Thread.ofVirtual().name("vstore-alarm-watcher").start(() -> {
      while (!closed) {
        check();
        synchronized (wakeup) {
          try {
            if (!closed) {
              wakeup.wait(interval.toMillis());
            }
          } catch (InterruptedException e) {
            return;
          }
        }
      }
    });
  }

  /** Looks at every datastore's level now, publishing what changed. */
  synchronized void check() {
    for (ManagedDatastore ds : datastores) {
      if (closed) {
        return;
      }
      DatastoreInfo info;
      try {
        info = ds.store().info();
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.DEBUG, "cannot read the alarms of " + ds, e);
        continue;
      }
      Alarm top = top(info.alarms());
      Alarm.Level now = top == null ? null : top.level();
      Alarm.Level before = levels.get(ds.name());
      if (now == before) {
        continue;
      }
      if (now == null) {
        levels.remove(ds.name());
      } else {
        levels.put(ds.name(), now);
      }
      boolean raised = before == null || (now != null && now.compareTo(before) > 0);
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("level", label(raised ? now : before));
      data.put("current", now == null ? "normal" : label(now));
      data.put("message", top != null ? top.message()
          : "usage of " + info.used() + " bytes of capacity " + info.capacity() + " is below the "
              + label(before) + " threshold again");
      sink.accept(events.publish(raised ? "alarm.raised" : "alarm.cleared", ds.name(), data));
    }
  }

  /** Returns the level last seen on datastore {@code name}, null when normal. */
  synchronized Alarm.Level level(String name) {
    return levels.get(name);
  }

  private static Alarm top(List<Alarm> alarms) {
    Alarm top = null;
    for (Alarm a : alarms) {
      if (top == null || a.level().compareTo(top.level()) > 0) {
        top = a;
      }
    }
    return top;
  }

  /** Returns the lower-case name of {@code level} the API and metrics use. */
  static String label(Alarm.Level level) {
    return level.name().toLowerCase(Locale.ROOT);
  }

  /** Stops watching and waits for the watcher. */
  @Override
  public void close() {
    closed = true;
    synchronized (wakeup) {
      wakeup.notifyAll();
    }
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
