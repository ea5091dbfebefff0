package io.vstore.backup.store;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;

/** Opens the {@link ObjectStore} a repository location names on the command line. */
public final class ObjectStores {
  private ObjectStores() {}

  /**
   * Opens {@code location} with the process's environment: see {@link #open(String, Map)}.
   */
  public static ObjectStore open(String location) throws IOException {
    return open(location, System.getenv());
  }

  /**
   * Opens {@code location}: {@code s3://BUCKET[/PREFIX]} is an {@link S3Store} (endpoint and keys
   * from {@code VSTORE_S3_ENDPOINT}, {@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY},
   * {@code AWS_REGION}) behind a {@link CachingStore} in {@code $XDG_CACHE_HOME/vstore/backup/<hash
   * of endpoint, bucket and prefix>} ({@code ~/.cache} when unset; {@code VSTORE_BACKUP_CACHE=off}
   * turns it off); anything else is a directory, a {@link DirectoryStore}.
   *
   * @throws IllegalArgumentException one line: a malformed location, a missing variable
   * @throws IOException one line: no such bucket, access denied, endpoint unreachable
   */
  public static ObjectStore open(String location, Map<String, String> env) throws IOException {
    if (S3Location.isS3(location)) {
      S3Location where = S3Location.parse(location);
      S3Settings settings = S3Settings.fromEnvironment(env);
      S3Store s3 = S3Store.open(where, settings);
      if ("off".equals(env.get("VSTORE_BACKUP_CACHE"))) {
        return s3;
      }
      boolean success = false;
      try {
        Path dir = CachingStore.directoryFor(cacheRoot(env), settings.endpoint() + "/" + where.bucket() + "/" + where.prefix());
        ObjectStore cached = CachingStore.open(s3, dir, CachingStore.DEFAULT_MAX_BYTES);
        success = true;
        return cached;
      } finally {
        if (!success) {
          s3.close();
        }
      }
    }
    if (location.isBlank()) {
      throw new IllegalArgumentException("empty repository location");
    }
    if (location.contains("://")) {
      throw new IllegalArgumentException("unsupported repository location " + location
          + " (a directory, or s3://BUCKET[/PREFIX])");
    }
    try {
      return DirectoryStore.open(Path.of(location));
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("bad repository directory " + location + ": " + e.getReason());
    }
  }

  private static Path cacheRoot(Map<String, String> env) {
    String xdg = env.get("XDG_CACHE_HOME");
    if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
      return Path.of(xdg);
    }
    String home = env.getOrDefault("HOME", System.getProperty("user.home"));
    return Path.of(home, ".cache");
  }
}
