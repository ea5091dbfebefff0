package io.vstore.server.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The job records of one datastore: {@code <datastore>/jobs/<id>.json}, one small JSON file per
 * job, replaced atomically (written to a temporary file, forced, renamed over the old one) so a
 * crash leaves either the old record or the new one. What is read back is checked field by field;
 * a record that fails the checks is skipped with a warning and never stops the daemon.
 */
final class JobStore {
  /** The directory inside the datastore. */
  static final String DIR = "jobs";
  /** The largest record read back: the kept output is capped at 1 MiB, JSON escaping can grow it. */
  static final long MAX_RECORD = 8L << 20;
  /** What a job id looks like: 10 hex digits of milliseconds, 6 random ones. */
  static final Pattern ID = Pattern.compile("[0-9a-f]{16}");
  /** What a job kind looks like. */
  static final Pattern KIND = Pattern.compile("[a-z][a-z0-9.-]{0,63}");
  private static final int MAX_TEXT = 64 << 10;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final System.Logger LOG = System.getLogger("io.vstore.server.jobs");

  /** A record as stored: the job, whether it is heavy, and whether it should resume when the daemon starts. */
  record Stored(JobInfo info, boolean heavy, boolean resume) {}

  private final Path dir;

  private JobStore(Path dir) {
    this.dir = dir;
  }

  /** Opens (creating if needed) the job records of the datastore at {@code datastore}. */
  static JobStore open(Path datastore) throws IOException {
    Path dir = datastore.resolve(DIR);
    Files.createDirectories(dir);
    return new JobStore(dir);
  }

  /** Returns the directory of the records. */
  Path dir() {
    return dir;
  }

  /** Writes {@code record}, replacing the job's previous record atomically. */
  void write(Stored record) throws IOException {
    JobInfo info = record.info();
    ObjectNode node = JSON.valueToTree(info);
    node.remove(List.of("rate", "etaSeconds"));
    node.put("heavy", record.heavy());
    node.put("resume", record.resume());
    byte[] bytes = JSON.writeValueAsBytes(node);
    Path file = file(info.id());
    Path tmp = dir.resolve(info.id() + ".json.tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buf = ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Deletes the record of job {@code id}, if any. */
  void delete(String id) throws IOException {
    Files.deleteIfExists(file(id));
  }

  /**
   * Reads every record, naming each job's datastore {@code datastore} (names may change between
   * runs); leftover temporary files are deleted, bad records skipped with a warning.
   */
  List<Stored> load(String datastore) throws IOException {
    List<Stored> out = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        if (name.endsWith(".json.tmp")) {
          Files.deleteIfExists(f); // a write the crash cut short; the record before it stands
          continue;
        }
        if (!name.endsWith(".json")) {
          continue;
        }
        try {
          out.add(read(f, datastore));
        } catch (IOException e) {
          LOG.log(System.Logger.Level.WARNING, "skipping job record: " + e.getMessage());
        }
      }
    }
    return out;
  }

  private Path file(String id) {
    if (!ID.matcher(id).matches()) {
      throw new IllegalArgumentException("bad job id '" + id + "'");
    }
    return dir.resolve(id + ".json");
  }

  /** Reads and checks one record. */
  static Stored read(Path f, String datastore) throws IOException {
    byte[] bytes;
    try (InputStream in = Files.newInputStream(f)) {
      bytes = in.readNBytes((int) MAX_RECORD + 1);
    }
    if (bytes.length > MAX_RECORD) {
      throw new BadJobRecordException(f, "size is over the limit of " + MAX_RECORD + " bytes");
    }
    JsonNode n;
    try {
      n = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new BadJobRecordException(f, "not JSON: " + e.getMessage().replace('\n', ' '));
    }
    if (n == null || !n.isObject()) {
      throw new BadJobRecordException(f, "expected a JSON object");
    }
    String id = text(f, n, "id", false, 16);
    String fileName = f.getFileName().toString();
    if (!ID.matcher(id).matches() || !fileName.equals(id + ".json")) {
      throw new BadJobRecordException(f, "id '" + id + "' is not a job id or does not match the file name");
    }
    String kind = text(f, n, "kind", false, 64);
    if (!KIND.matcher(kind).matches()) {
      throw new BadJobRecordException(f, "kind '" + kind + "' is not a job kind");
    }
    String target = text(f, n, "target", true, 4096);
    JobState state;
    try {
      state = JobState.parse(text(f, n, "state", false, 16));
    } catch (IllegalArgumentException e) {
      throw new BadJobRecordException(f, e.getMessage());
    }
    long done = count(f, n, "done");
    long total = count(f, n, "total");
    JsonNode result = n.get("result");
    Object resultValue = result == null || result.isNull() ? null : JSON.convertValue(result, Object.class);
    String error = text(f, n, "error", true, MAX_TEXT);
    String created = instant(f, n, "created", false);
    String started = instant(f, n, "started", true);
    String finished = instant(f, n, "finished", true);
    boolean heavy = flag(f, n, "heavy", true);
    boolean resume = flag(f, n, "resume", false);
    JobInfo info = new JobInfo(id, kind, datastore, target, state, done, total, 0, -1, resultValue, error, created,
        started, finished);
    return new Stored(info, heavy, resume);
  }

  private static String text(Path f, JsonNode n, String field, boolean nullable, int max) throws IOException {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      if (nullable) {
        return null;
      }
      throw new BadJobRecordException(f, "missing field " + field);
    }
    if (!v.isTextual()) {
      throw new BadJobRecordException(f, "field " + field + " is " + v.getNodeType() + ", expected a string");
    }
    if (v.asText().length() > max) {
      throw new BadJobRecordException(f, "field " + field + " has " + v.asText().length() + " characters, over "
          + max);
    }
    return v.asText();
  }

  private static long count(Path f, JsonNode n, String field) throws IOException {
    JsonNode v = n.get(field);
    if (v == null || !v.canConvertToExactIntegral() || !v.canConvertToLong() || v.asLong() < 0) {
      throw new BadJobRecordException(f, "field " + field + " is " + v + ", expected a count of at least 0");
    }
    return v.asLong();
  }

  private static String instant(Path f, JsonNode n, String field, boolean nullable) throws IOException {
    String s = text(f, n, field, nullable, 64);
    if (s == null) {
      return null;
    }
    try {
      Instant.parse(s);
      return s;
    } catch (DateTimeParseException e) {
      throw new BadJobRecordException(f, "field " + field + " is '" + s + "', expected an ISO-8601 instant");
    }
  }

  private static boolean flag(Path f, JsonNode n, String field, boolean absent) throws IOException {
    JsonNode v = n.get(field);
    if (v == null) {
      return absent;
    }
    if (!v.isBoolean()) {
      throw new BadJobRecordException(f, "field " + field + " is " + v + ", expected true or false");
    }
    return v.asBoolean();
  }

  /** A job record that cannot be used. */
  static final class BadJobRecordException extends IOException {
    BadJobRecordException(Path file, String detail) {
      super("bad job record: " + file + ": " + detail);
    }
  }
}
