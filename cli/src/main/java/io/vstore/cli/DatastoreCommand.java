package io.vstore.cli;

import io.vstore.blockstore.store.Alarm;
import io.vstore.blockstore.store.CheckReport;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreInfo;
import io.vstore.blockstore.store.DatastoreOptions;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vstore datastore ...}: create, inspect, check and clean a datastore. */
@Command(name = "datastore", description = "Create, inspect, configure, check and clean a datastore.",
    mixinStandardHelpOptions = true,
    subcommands = {DatastoreCommand.Init.class, DatastoreCommand.Info.class, DatastoreCommand.Set.class,
        DatastoreCommand.Check.class, DatastoreCommand.Clean.class, DatastoreKeyCommand.class})
final class DatastoreCommand {

  @Command(name = "init", description = "Create a datastore.")
  static final class Init implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Option(names = "--capacity", paramLabel = "SIZE",
        description = "Capacity limit (default: the free space of the file system).") long capacity;
    @Option(names = "--warning", paramLabel = "PERCENT", defaultValue = "75",
        description = "Usage that raises a warning alarm (default: ${DEFAULT-VALUE}).") int warning;
    @Option(names = "--critical", paramLabel = "PERCENT", defaultValue = "90",
        description = "Usage that raises a critical alarm (default: ${DEFAULT-VALUE}).") int critical;
    @Option(names = "--encrypt", description = "Seal every record with AES-256-GCM under a new data key, wrapped for "
        + "--passphrase-file or --key-file (a missing key file is created with a random 256-bit key).")
    boolean encrypt;

    @Override
    public Integer call() throws Exception {
      io.vstore.blockstore.crypto.KeySource source = null;
      if (encrypt) {
        if (keys.keyFile != null && keys.passphraseFile == null && !java.nio.file.Files.exists(keys.keyFile)) {
          source = io.vstore.blockstore.crypto.KeySource.createKeyFile(keys.keyFile);
        } else {
          source = keys.source();
        }
        if (source == null) {
          throw new CommandLine.ParameterException(spec.commandLine(),
              "datastore init --encrypt needs --passphrase-file FILE or --key-file FILE");
        }
      }
      Datastore created;
      try {
        created = Datastore.create(location.path(), DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO)
            .withKeys(source), capacity, encrypt);
      } catch (java.nio.file.FileSystemException e) {
        throw new java.io.IOException("cannot create datastore " + location.path() + ": "
            + CommandLines.describe(e), e);
      }
      try (Datastore ds = created) {
        ds.setCapacity(capacity, warning, critical);
        spec.commandLine().getOut().println("created " + (encrypt ? "encrypted " : "") + "datastore " + ds.path());
      }
      return 0;
    }
  }

  @Command(name = "set", description = "Change the capacity limit and the alarm thresholds; what is not given stays.")
  static final class Set implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Option(names = "--capacity", paramLabel = "SIZE",
        description = "Capacity limit (0: the free space of the file system).") Long capacity;
    @Option(names = "--warning", paramLabel = "PERCENT", description = "Usage that raises a warning alarm.")
    Integer warning;
    @Option(names = "--critical", paramLabel = "PERCENT", description = "Usage that raises a critical alarm.")
    Integer critical;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      if (capacity == null && warning == null && critical == null) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "nothing to set: give --capacity, --warning or --critical");
      }
      try (Datastore ds = location.open()) {
        DatastoreInfo before = ds.info();
        // The stored limit, not the effective one: 0 stays "the file system's free space".
        long limit = capacity != null ? capacity : ds.configuredCapacity();
        ds.setCapacity(limit, warning != null ? warning : before.warningPercent(),
            critical != null ? critical : before.criticalPercent());
        output.print(ds.info(), (out, i) -> out.println("datastore " + i.path() + ": capacity "
            + (limit == 0 ? "the file system's free space (now " + Sizes.format(i.capacity()) + ")"
                : Sizes.format(i.capacity())) + ", warning at " + i.warningPercent() + "%, critical at "
            + i.criticalPercent() + "%" + (i.alarms().isEmpty() ? "" : "; alarm: " + i.alarms().getFirst().message())));
      }
      return 0;
    }
  }

  @Command(name = "info", description = "Show capacity, provisioned and allocated space, and alarms.")
  static final class Info implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        output.print(ds.info(), Info::print);
      }
      return 0;
    }

    /** Prints {@code i} as text. */
    static void print(PrintWriter out, DatastoreInfo i) {
      out.println("datastore: " + i.path());
      out.println("uuid: " + i.uuid());
      out.println("capacity: " + human(i.capacity()));
      out.println("provisioned: " + human(i.provisioned()));
      out.println("allocated: " + human(i.allocated()));
      out.println("used: " + human(i.used()) + " (allocated plus space not yet reclaimed)");
      out.println(String.format(Locale.ROOT, "overcommit ratio: %.2f", i.overcommitRatio()));
      out.println("volumes: " + i.volumes() + ", segments: " + i.segments());
      out.println("thresholds: warning " + i.warningPercent() + "%, critical " + i.criticalPercent() + "%");
      out.println("metadata cache: " + Sizes.format(i.metadataCache().used()) + " of " + Sizes.format(i.metadataCache().budget())
          + " in memory, " + i.metadataCache().evictions() + " pages evicted");
      if (i.alarms().isEmpty()) {
        out.println("alarms: none");
      }
      for (Alarm a : i.alarms()) {
        out.println("alarm: " + a.level() + " " + a.message() + " (since " + a.raisedAt() + ")");
      }
    }
  }

  static String human(long bytes) {
    return Sizes.format(bytes) + " (" + bytes + " bytes)";
  }

  @Command(name = "check", description = "Verify every invariant and checksum; changes nothing. Exit code 2 if problems.")
  static final class Check implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        CheckReport r = ds.check();
        output.print(r, Check::print);
        return r.clean() ? 0 : 2;
      }
    }

    /** Prints {@code r} as text. */
    static void print(PrintWriter out, CheckReport r) {
      out.println("checked " + r.volumes() + " volumes, " + r.mapEntries() + " map entries, " + r.records()
          + " records (" + Sizes.format(r.bytesVerified()) + " verified), " + r.segments() + " segments");
      for (String p : r.problems()) {
        out.println("problem: " + p);
      }
      out.println(r.clean() ? "no problems found" : r.problems().size() + " problems found");
    }
  }

  @Command(name = "clean", description = "Reclaim dead space now (the daemon also does it in the background).")
  static final class Clean implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        output.print(ds.clean(), (out, r) -> out.println("cleaned " + r.segmentsCleaned() + " segments, moved "
            + r.recordsMoved() + " records (" + Sizes.format(r.bytesMoved()) + "), reclaimed "
            + Sizes.format(r.bytesReclaimed())));
      }
      return 0;
    }
  }
}
