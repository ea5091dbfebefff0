package io.vstore.offline.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The check-outs of one datastore, one JSON file each in {@code <datastore>/checkouts/}, replaced
 * atomically; kept in memory too (a daemon has few) so listing costs no I/O. Byte counters are
 * saved with each state change and at most every few seconds during transfers.
 */
final class CheckoutRecords {
  static final String DIR = "checkouts";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final ConcurrentMap<String, CheckoutRecord> byId = new ConcurrentHashMap<>();

  private CheckoutRecords(Path dir) {
    this.dir = dir;
  }

  /** Loads the records of the datastore at {@code datastore}. */
  static CheckoutRecords open(Path datastore) throws IOException {
    Path dir = datastore.resolve(DIR);
    Files.createDirectories(dir);
    CheckoutRecords r = new CheckoutRecords(dir);
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "co-*.json")) {
      for (Path f : files) {
        try {
          CheckoutRecord rec = JSON.readValue(f.toFile(), CheckoutRecord.class);
          r.byId.put(rec.id(), rec);
        } catch (IOException e) {
          throw new IOException("bad check-out record " + f + ": " + e.getMessage(), e);
        }
      }
    }
    return r;
  }

  /** Returns the directory holding the records, keys, staging logs. */
  Path dir() {
    return dir;
  }

  /** Saves {@code record}, replacing the one with its id. */
  synchronized void save(CheckoutRecord record) throws IOException {
    AtomicFiles.replace(dir.resolve(record.id() + ".json"), JSON.writerWithDefaultPrettyPrinter()
        .writeValueAsBytes(record));
    byId.put(record.id(), record);
  }

  /** Returns the record with {@code id}. */
  Optional<CheckoutRecord> get(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  /** Returns every record, oldest first. */
  List<CheckoutRecord> list() {
    List<CheckoutRecord> out = new ArrayList<>(byId.values());
    out.sort(Comparator.comparing(CheckoutRecord::since).thenComparing(CheckoutRecord::id));
    return out;
  }

  /** Returns the record of VM {@code vm} that is out, if any. */
  Optional<CheckoutRecord> outFor(String vm) {
    return byId.values().stream().filter(r -> r.vm().equals(vm) && r.state() == CheckoutState.OUT).findFirst();
  }
}
