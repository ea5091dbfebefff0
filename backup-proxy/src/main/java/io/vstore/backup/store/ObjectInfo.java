package io.vstore.backup.store;

import java.time.Instant;
import java.util.Objects;

/** One stored object: its key, its size in bytes and when the store last modified it (the store's clock). */
public record ObjectInfo(String key, long size, Instant modified) {
  public ObjectInfo {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(modified, "modified");
    if (size < 0) {
      throw new IllegalArgumentException("negative size " + size + " of " + key);
    }
  }
}
