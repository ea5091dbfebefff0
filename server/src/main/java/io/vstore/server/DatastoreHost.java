package io.vstore.server;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The datastores a daemon owns, found by directory or by name. */
public interface DatastoreHost {
  /** Returns the owned datastore whose directory is {@code dir} (compared as real paths). */
  Optional<ManagedDatastore> find(Path dir);

  /** Returns the owned datastore named {@code name}, or the first one when {@code name} is null. */
  ManagedDatastore byName(String name);

  /** Returns every owned datastore, in the order given on the command line. */
  List<ManagedDatastore> all();
}
