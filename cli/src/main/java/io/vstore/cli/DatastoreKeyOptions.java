package io.vstore.cli;

import io.vstore.blockstore.crypto.KeySource;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * What unlocks an encrypted datastore: {@code --passphrase-file FILE} or {@code --key-file FILE},
 * else the environment's {@code VSTORE_PASSPHRASE_FILE} or {@code VSTORE_KEY_FILE}. A mixin beside
 * {@link DatastoreLocation} on the commands whose own options do not use these names (the backup
 * commands' {@code --passphrase-file} is the repository's: there the environment unlocks the
 * datastore). The files are read only when a datastore is opened in this process; a command the
 * daemon runs uses the datastore it holds, already unlocked.
 */
@Command
final class DatastoreKeyOptions {
  @Option(names = "--passphrase-file", paramLabel = "FILE",
      description = "Unlock an encrypted datastore with the passphrase in FILE (default: VSTORE_PASSPHRASE_FILE).")
  Path passphraseFile;
  @Option(names = "--key-file", paramLabel = "FILE",
      description = "Unlock an encrypted datastore with the key file FILE (default: VSTORE_KEY_FILE).")
  Path keyFile;

  /** Returns the key source given by these options, else by the environment, else null. */
  KeySource source() throws IOException {
    return source(passphraseFile, keyFile);
  }

  /** Returns the key source of the options {@code passphrase} / {@code key} (either may be null), else the environment's. */
  static KeySource source(Path passphrase, Path key) throws IOException {
    if (passphrase != null && key != null) {
      throw new IllegalArgumentException("give --passphrase-file or --key-file, not both");
    }
    if (passphrase != null) {
      return KeySource.passphraseFile(passphrase);
    }
    if (key != null) {
      return KeySource.keyFile(key);
    }
    String env = System.getenv("VSTORE_PASSPHRASE_FILE");
    if (env != null && !env.isBlank()) {
      return KeySource.passphraseFile(Path.of(env));
    }
    env = System.getenv("VSTORE_KEY_FILE");
    if (env != null && !env.isBlank()) {
      return KeySource.keyFile(Path.of(env));
    }
    return null;
  }

  /** Returns the key source of {@code command}'s key options if it has them, else the environment's. */
  static KeySource forCommand(CommandSpec command) throws IOException {
    for (CommandSpec mixin : command.mixins().values()) {
      if (mixin.userObject() instanceof DatastoreKeyOptions k) {
        return k.source();
      }
    }
    return source(null, null);
  }
}
