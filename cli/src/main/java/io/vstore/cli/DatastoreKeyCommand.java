package io.vstore.cli;

import io.vstore.blockstore.crypto.KeyException;
import io.vstore.blockstore.crypto.KeyRing;
import io.vstore.blockstore.crypto.KeySource;
import io.vstore.blockstore.store.Datastore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vstore datastore key list|add|remove|passwd}: the key slots of an encrypted datastore.
 * Each rewrites only the key-slot file; the data, sealed under the data key, is never touched.
 * The datastore is unlocked as every command does (--passphrase-file, --key-file or the environment).
 */
@Command(name = "key", description = "List, add, remove or change the key slots of an encrypted datastore.",
    mixinStandardHelpOptions = true,
    subcommands = {DatastoreKeyCommand.ListSlots.class, DatastoreKeyCommand.Add.class, DatastoreKeyCommand.Remove.class,
        DatastoreKeyCommand.Passwd.class})
final class DatastoreKeyCommand {
  private DatastoreKeyCommand() {}

  /** One key slot as listed. */
  record SlotEntry(String label, String kind, Integer argon2MemoryKiB, Integer argon2Iterations,
      Integer argon2Parallelism, boolean unlockedWith) {}

  static KeyRing ring(Datastore ds) throws KeyException {
    return ds.keys().orElseThrow(() -> new KeyException("datastore " + ds.path() + " is not encrypted"));
  }

  /** Returns the new key source of {@code --new-passphrase-file} / {@code --new-key-file} (a missing key file is created). */
  static KeySource newSource(Path passphraseFile, Path keyFile) throws java.io.IOException {
    if ((passphraseFile == null) == (keyFile == null)) {
      throw new IllegalArgumentException("give one of --new-passphrase-file and --new-key-file");
    }
    if (passphraseFile != null) {
      return KeySource.passphraseFile(DaemonContext.path(passphraseFile.toString()));
    }
    Path file = DaemonContext.path(keyFile.toString());
    return Files.exists(file) ? KeySource.keyFile(file) : KeySource.createKeyFile(file);
  }

  @Command(name = "list", description = "List the key slots.")
  static final class ListSlots implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        KeyRing ring = ring(ds);
        List<SlotEntry> entries = ring.slots().stream().map(s -> new SlotEntry(s.label(), s.kind().label(),
            s.cost() == null ? null : s.cost().memoryKiB(), s.cost() == null ? null : s.cost().iterations(),
            s.cost() == null ? null : s.cost().parallelism(), s.label().equals(ring.unlockedBy()))).toList();
        output.print(entries, (out, list) -> {
          for (SlotEntry e : list) {
            out.println(e.label() + "  " + e.kind() + (e.argon2MemoryKiB() == null ? ""
                : "  argon2id m=" + e.argon2MemoryKiB() + "KiB t=" + e.argon2Iterations() + " p=" + e.argon2Parallelism())
                + (e.unlockedWith() ? "  (unlocked with this one)" : ""));
          }
        });
      }
      return 0;
    }
  }

  @Command(name = "add", description = "Add a key slot: a passphrase (--new-passphrase-file) or a key file "
      + "(--new-key-file, created with a random 256-bit key if it does not exist), e.g. a server's escrow key.")
  static final class Add implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "LABEL", description = "The new slot's name.") String label;
    @Option(names = "--new-passphrase-file", paramLabel = "FILE", description = "The new slot's passphrase.")
    Path newPassphraseFile;
    @Option(names = "--new-key-file", paramLabel = "FILE", description = "The new slot's key file.")
    Path newKeyFile;

    @Override
    public Integer call() throws Exception {
      KeySource source = newSource(newPassphraseFile, newKeyFile);
      try (Datastore ds = location.open()) {
        ring(ds).add(label, source);
        spec.commandLine().getOut().println("added key slot " + label + " (" + source.kind().label() + ")");
      }
      return 0;
    }
  }

  @Command(name = "remove", description = "Remove a key slot (revoke it); the last slot cannot be removed.")
  static final class Remove implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "LABEL", description = "The slot to remove.") String label;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        ring(ds).remove(label);
        spec.commandLine().getOut().println("removed key slot " + label);
      }
      return 0;
    }
  }

  @Command(name = "passwd", description = "Change the passphrase (or key file) of a slot: by default the one "
      + "that unlocked the datastore.")
  static final class Passwd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", arity = "0..1", paramLabel = "LABEL", description = "The slot to change.") String label;
    @Option(names = "--new-passphrase-file", paramLabel = "FILE", description = "The new passphrase.")
    Path newPassphraseFile;
    @Option(names = "--new-key-file", paramLabel = "FILE", description = "The new key file.")
    Path newKeyFile;

    @Override
    public Integer call() throws Exception {
      KeySource source = newSource(newPassphraseFile, newKeyFile);
      try (Datastore ds = location.open()) {
        KeyRing ring = ring(ds);
        String slot = label != null ? label : ring.unlockedBy();
        ring.change(slot, source);
        spec.commandLine().getOut().println("changed key slot " + slot + " (" + source.kind().label() + ")");
      }
      return 0;
    }
  }

}
