package io.vstore.cli;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where the datastore is: {@code -D/--datastore}, else {@code VSTORE_DATASTORE}, else
 * {@code $XDG_DATA_HOME/vstore/default} (usually {@code ~/.local/share/vstore/default}), which
 * is created on first use.
 */
final class DatastoreLocation {
  @Option(names = {"-D", "--datastore"}, paramLabel = "PATH",
      description = "Datastore directory (default: $VSTORE_DATASTORE, else $XDG_DATA_HOME/vstore/default).")
  Path explicit;

  /** Returns the chosen datastore directory. */
  Path path() {
    if (explicit != null) {
      return explicit;
    }
    String env = System.getenv("VSTORE_DATASTORE");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return defaultPath();
  }

  /** Returns whether the user left the choice to the default. */
  boolean isDefault() {
    String env = System.getenv("VSTORE_DATASTORE");
    return explicit == null && (env == null || env.isBlank());
  }

  static Path defaultPath() {
    String xdg = System.getenv("XDG_DATA_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
    return base.resolve("vstore").resolve("default");
  }

  /** Opens the datastore; the default one is created on first use, a named one must exist. */
  Datastore open() throws IOException {
    // A command-line process does its work and exits: no background cleaner thread.
    DatastoreOptions options = DatastoreOptions.defaults().withCleanerInterval(java.time.Duration.ZERO);
    return isDefault() ? Datastore.openOrCreate(path(), options) : Datastore.open(path(), options);
  }
}
