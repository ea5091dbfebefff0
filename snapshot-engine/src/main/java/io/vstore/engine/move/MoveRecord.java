package io.vstore.engine.move;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.vstore.blockstore.AtomicFiles;
import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * How far a move is, kept as {@code <source datastore>/moves/<volume>.json} and replaced
 * atomically: JSON whose {@code crc32c} field is the CRC32C of the file with that field's value
 * written as {@code 00000000}.
 *
 * @param format always {@link #FORMAT}
 * @param version the format version ({@link #VERSION})
 * @param volume the volume being moved (its name on both datastores)
 * @param source the source datastore's directory
 * @param destination the destination datastore's directory
 * @param size the volume's size in bytes
 * @param cursor every region below it had been copied, and both sides flushed, when it was saved
 * @param rateLimit the copy pass's limit in bytes per second, 0 for none
 * @param flatten whether a linked clone is moved as a flat copy of what it reads
 * @param phase {@link #COPY} (the source is authoritative) or {@link #SWITCHED} (the destination is)
 * @param switchChangeId the change id of the source's head at the switch, which names the same point on the
 *     destination (pinned there), or null before it
 * @param created when the move started, ISO-8601
 * @param crc32c the checksum, as eight hex digits
 */
public record MoveRecord(String format, int version, String volume, String source, String destination, long size,
    long cursor, long rateLimit, boolean flatten, String phase, String switchChangeId, String created, String crc32c) {
  /** The magic every record starts with. */
  public static final String FORMAT = "vstore-move";
  /** The format version this code writes and reads. */
  public static final int VERSION = 1;
  /** The directory of the source datastore that holds the records. */
  public static final String DIRECTORY = "moves";
  /** Before the switch: the source is authoritative, the destination a copy in progress. */
  public static final String COPY = "copy";
  /** After the switch: the destination is authoritative; the source waits for verification and deletion. */
  public static final String SWITCHED = "switched";
  private static final String ZERO_CRC = "00000000";
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(SerializationFeature.INDENT_OUTPUT);

  /** Checks the fields. */
  public MoveRecord {
    Objects.requireNonNull(volume, "volume");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(phase, "phase");
    if (size < 0 || cursor < 0 || cursor > size) {
      throw new IllegalArgumentException("bad move record for " + volume + ": cursor " + cursor + " of " + size);
    }
    if (!phase.equals(COPY) && !phase.equals(SWITCHED)) {
      throw new IllegalArgumentException("bad move record for " + volume + ": phase " + phase);
    }
    if (rateLimit < 0) {
      throw new IllegalArgumentException("bad move record for " + volume + ": rate limit " + rateLimit);
    }
  }

  /** Returns a new record of a move starting now. */
  static MoveRecord start(String volume, Path source, Path destination, long size, long rateLimit, boolean flatten) {
    return new MoveRecord(FORMAT, VERSION, volume, source.toString(), destination.toString(), size, 0, rateLimit,
        flatten, COPY, null, java.time.Instant.now().toString(), ZERO_CRC);
  }

  /** Returns this record with the copy checkpointed at {@code newCursor}. */
  MoveRecord withCursor(long newCursor) {
    return new MoveRecord(format, version, volume, source, destination, size, newCursor, rateLimit, flatten, phase,
        switchChangeId, created, ZERO_CRC);
  }

  /** Returns this record switched over at destination change id {@code changeId}. */
  MoveRecord switched(String changeId) {
    return new MoveRecord(format, version, volume, source, destination, size, size, rateLimit, flatten, SWITCHED,
        changeId, created, ZERO_CRC);
  }

  /** Returns whether the destination is authoritative. */
  @JsonIgnore
  public boolean isSwitched() {
    return phase.equals(SWITCHED);
  }

  /** Returns the record file of {@code volume} in datastore directory {@code datastore}. */
  static Path file(Path datastore, String volume) {
    return datastore.resolve(DIRECTORY).resolve(volume + ".json");
  }

  /** Writes this record into the source datastore's directory, replacing the previous one. */
  void save() throws IOException {
    byte[] zeroed = JSON.writeValueAsBytes(withCrc(ZERO_CRC));
    Files.createDirectories(file(Path.of(source), volume).getParent());
    AtomicFiles.replace(file(Path.of(source), volume), JSON.writeValueAsBytes(withCrc(crc(zeroed))));
  }

  /** Deletes this record's file, if it is there. */
  void delete() throws IOException {
    Files.deleteIfExists(file(Path.of(source), volume));
  }

  private MoveRecord withCrc(String crc) {
    return new MoveRecord(format, version, volume, source, destination, size, cursor, rateLimit, flatten, phase,
        switchChangeId, created, crc);
  }

  private static String crc(byte[] bytes) {
    CRC32C c = new CRC32C();
    c.update(bytes);
    return HexFormat.of().toHexDigits((int) c.getValue());
  }

  /** Reads the record at {@code file}; null if there is none. */
  static MoveRecord load(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    }
    if (bytes.length > 1 << 20) {
      throw new CorruptDataException("bad move record: " + file + ": " + bytes.length + " bytes, more than 1 MiB");
    }
    MoveRecord r;
    try {
      r = JSON.readValue(bytes, MoveRecord.class);
    } catch (JsonProcessingException e) {
      throw new CorruptDataException("bad move record: " + file + ": " + e.getOriginalMessage(), e);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new CorruptDataException("bad move record: " + file + ": " + e.getMessage(), e);
    }
    if (r == null || !FORMAT.equals(r.format())) {
      throw new CorruptDataException("not a move record: " + file + ": format " + (r == null ? "(none)" : r.format()));
    }
    if (r.version() != VERSION) {
      throw new CorruptDataException("unsupported move record: " + file + ": version " + r.version() + " (supported "
          + VERSION + ")");
    }
    String expected = crc(JSON.writeValueAsBytes(r.withCrc(ZERO_CRC)));
    if (!expected.equals(r.crc32c())) {
      throw new CorruptDataException("bad move record: " + file + ": crc32c " + r.crc32c() + ", computed " + expected);
    }
    return r;
  }

  /** Returns every move record in datastore directory {@code datastore}, by volume name. */
  public static List<MoveRecord> pending(Path datastore) throws IOException {
    Path dir = datastore.resolve(DIRECTORY);
    List<MoveRecord> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
      ds.forEach(files::add);
    }
    files.sort(null);
    for (Path f : files) {
      MoveRecord r = load(f);
      if (r != null) {
        out.add(r);
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "move of " + volume + " from " + source + " to " + destination + " (" + phase + ", cursor " + cursor + ")";
  }
}
