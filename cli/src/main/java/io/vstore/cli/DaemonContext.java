package io.vstore.cli;

import io.vstore.blockstore.store.DatastoreException;
import io.vstore.server.DatastoreHost;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.ProgressSink;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What a command runs with inside the daemon: the datastores the daemon holds open, the client's
 * working directory (relative paths are the client's) and where progress goes (also bound as
 * {@link Progress#SINK}). Bound as a {@link ScopedValue} for the command's thread by
 * {@link CliCommandRunner}; unbound in a plain {@code vstore} process.
 */
record DaemonContext(DatastoreHost host, Path cwd, ProgressSink progress) {
  /** The context of the command running on this thread, if it runs in the daemon. */
  static final ScopedValue<DaemonContext> CURRENT = ScopedValue.newInstance();

  /** Returns the context of the current command when it runs in the daemon. */
  static Optional<DaemonContext> current() {
    return CURRENT.isBound() ? Optional.of(CURRENT.get()) : Optional.empty();
  }

  /** Returns the file named {@code name}: relative to the client's directory in the daemon, else as given. */
  static Path path(String name) {
    return current().map(c -> c.cwd().resolve(name)).orElseGet(() -> Path.of(name));
  }

  /** Returns the owned datastore at {@code dir} (null: the daemon's first), or fails naming it. */
  ManagedDatastore datastore(Path dir) throws DatastoreException {
    if (dir == null) {
      return host.byName(null);
    }
    Path abs = cwd.resolve(dir);
    return host.find(abs).orElseThrow(() -> new DatastoreException("datastore " + abs + " is not owned by this daemon"));
  }
}
