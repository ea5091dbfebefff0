package io.vstore.cli;

import io.vstore.backup.repo.KeyInfo;
import io.vstore.backup.repo.KeySource;
import io.vstore.backup.repo.Repository;
import java.io.PrintWriter;
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

/** {@code vstore backup key add|list|remove}: the keys of an encrypted repository. Local: keys are not datastore state. */
@Command(name = "key", description = "Manage the keys of an encrypted repository: each is a copy of the master key "
    + "wrapped by a passphrase or a key file; adding or removing one never re-encrypts data.",
    mixinStandardHelpOptions = true,
    subcommands = {BackupKeyCommand.Add.class, BackupKeyCommand.ListKeys.class, BackupKeyCommand.Remove.class})
final class BackupKeyCommand {

  @Command(name = "list", description = "List the keys. JSON: [{\"id\", \"kind\", \"label\", \"created\"}].")
  static final class ListKeys implements Callable<Integer> {
    @Mixin BackupRepoOptions repoOptions;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
        List<Entry> keys = repo.keys().list().stream().map(Entry::of).toList();
        output.print(keys, ListKeys::print);
      }
      return 0;
    }

    /** A key as printed (JSON field names are stable). */
    record Entry(String id, String kind, String label, String created) {
      static Entry of(KeyInfo k) {
        return new Entry(k.id(), k.kind(), k.label(), k.created().toString());
      }
    }

    static void print(PrintWriter out, List<Entry> keys) {
      out.printf("%-16s %-10s %-24s  %s%n", "ID", "KIND", "CREATED", "LABEL");
      for (Entry k : keys) {
        out.printf("%-16s %-10s %-24s  %s%n", k.id(), k.kind(), k.created(), k.label());
      }
    }
  }

  @Command(name = "add", description = "Add a key: the passphrase in --new-passphrase-file, or the key file "
      + "--new-key-file (created with 32 random bytes if it does not exist). The repository is opened with "
      + "--passphrase-file, --key-file or VSTORE_BACKUP_PASSPHRASE.")
  static final class Add implements Callable<Integer> {
    @Mixin BackupRepoOptions repoOptions;
    @Option(names = "--new-passphrase-file", paramLabel = "FILE", description = "The new key's passphrase.")
    Path newPassphraseFile;
    @Option(names = "--new-key-file", paramLabel = "FILE", description = "The new key file.")
    Path newKeyFile;
    @Option(names = "--label", paramLabel = "TEXT", description = "A label for the new key.") String label = "";
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      if ((newPassphraseFile == null) == (newKeyFile == null)) {
        throw new IllegalArgumentException("give one of --new-passphrase-file and --new-key-file");
      }
      try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
        if (!repo.config().encrypted()) {
          throw new IllegalArgumentException("repository " + opened.store() + " is not encrypted: it has no keys");
        }
        KeySource key = newPassphraseFile != null ? KeySource.fromPassphraseFile(newPassphraseFile)
            : Files.exists(newKeyFile) ? KeySource.fromKeyFile(newKeyFile) : KeySource.createKeyFile(newKeyFile);
        ListKeys.Entry added = ListKeys.Entry.of(repo.keys().add(key, label));
        output.print(added, (out, k) -> out.println("added key " + k.id() + " (" + k.kind() + ")"));
      }
      return 0;
    }
  }

  @Command(name = "remove", description = "Remove a key (never the last one). Data stays readable with the others; "
      + "someone who copied the repository before can still use the removed key on that copy.")
  static final class Remove implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin BackupRepoOptions repoOptions;
    @Parameters(index = "0", paramLabel = "KEYID", description = "The key's id (see 'backup key list').") String keyId;

    @Override
    public Integer call() throws Exception {
      try (BackupRepoOptions.Opened opened = repoOptions.open(); Repository repo = opened.repo()) {
        repo.keys().remove(keyId);
        spec.commandLine().getOut().println("removed key " + keyId);
      }
      return 0;
    }
  }
}
