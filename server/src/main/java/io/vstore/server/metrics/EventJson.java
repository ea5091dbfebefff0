package io.vstore.server.metrics;

import io.vstore.server.Event;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes an {@link Event} as the JSON object the event stream, the recent list and webhooks carry. */
public final class EventJson {
  private EventJson() {}

  /** Returns {@code e} as {@code {id, time, type, datastore, data}}, the time an ISO-8601 instant. */
  public static Map<String, Object> of(Event e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", e.id());
    m.put("time", e.time().toString());
    m.put("type", e.type());
    m.put("datastore", e.datastore());
    m.put("data", e.data());
    return m;
  }
}
