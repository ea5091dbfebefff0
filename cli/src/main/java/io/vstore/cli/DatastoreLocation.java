package io.vstore.cli;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreException;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.server.ManagedDatastore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Where the datastore is: the global {@code -D/--datastore}, else {@code VSTORE_DATASTORE}, else
 * {@code $XDG_DATA_HOME/vstore/default} (usually {@code ~/.local/share/vstore/default}), which
 * is created on first use. Inside the daemon it is one of the datastores the daemon holds open.
 *
 * <p>A mixin of every command that works on a datastore (the daemon forwards exactly those); the
 * {@code -D} option itself is the top command's, inherited by every subcommand.
 */
@Command
final class DatastoreLocation {
  @Spec(Spec.Target.MIXEE) CommandSpec command;

  /** Returns the datastore given with -D, or null. */
  private Path explicit() {
    return Vstore.globals(command).datastore();
  }

  /** Returns the chosen datastore directory. */
  Path path() {
    Path explicit = explicit();
    Optional<DaemonContext> daemon = DaemonContext.current();
    if (daemon.isPresent()) {
      return explicit != null ? daemon.get().cwd().resolve(explicit) : daemon.get().host().byName(null).path();
    }
    return choose(explicit);
  }

  /** Returns {@code explicit} if given, else {@code VSTORE_DATASTORE}, else the default datastore. */
  static Path choose(Path explicit) {
    if (explicit != null) {
      return explicit;
    }
    String env = System.getenv("VSTORE_DATASTORE");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return defaultPath();
  }

  /** Returns what unlocks the datastore if it is encrypted (the command's key options, else the environment), or null. */
  io.vstore.blockstore.crypto.KeySource keys() throws IOException {
    return DatastoreKeyOptions.forCommand(command);
  }

  /** Returns whether the user left the choice to the default. */
  boolean isDefault() {
    String env = System.getenv("VSTORE_DATASTORE");
    return explicit() == null && (env == null || env.isBlank());
  }

  static Path defaultPath() {
    String xdg = System.getenv("XDG_DATA_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
    return base.resolve("vstore").resolve("default");
  }

  /** Returns the datastore the daemon holds open for this command; only valid inside the daemon. */
  ManagedDatastore managed() throws DatastoreException {
    return DaemonContext.current().orElseThrow(() -> new IllegalStateException("not running in the daemon"))
        .datastore(explicit());
  }

  /**
   * Opens the datastore; the default one is created on first use, a named one must exist. In the
   * daemon, returns the one it holds open (closing it is harmless).
   */
  Datastore open() throws IOException {
    if (DaemonContext.current().isPresent()) {
      return managed().store();
    }
    // A command-line process does its work and exits: no background cleaner, no metadata warming.
    DatastoreOptions options = DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO).withMetadataWarming(false)
        .withKeys(DatastoreKeyOptions.forCommand(command));
    try {
      return isDefault() ? Datastore.openOrCreate(path(), options) : Datastore.open(path(), options);
    } catch (DatastoreException e) {
      throw DatastoreOwner.explain(path(), e);
    }
  }
}
