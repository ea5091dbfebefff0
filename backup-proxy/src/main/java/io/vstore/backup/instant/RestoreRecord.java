package io.vstore.backup.instant;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.vstore.blockstore.AtomicFiles;
import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What the daemon needs to resume an instant restore after a crash, kept as
 * {@code <datastore>/instant-restore/<volume>.json} (replaced atomically) beside the volume's
 * {@link ZeroLog}. The volume's own allocation says which units are restored; this record says
 * where the rest comes from and how far the copy is known to be durable.
 *
 * @param version the format version ({@link #VERSION})
 * @param volume the volume being restored
 * @param repository the repository location ({@code REPO} of the command line)
 * @param point the backup point's id
 * @param export the NBD export serving the volume, or null
 * @param keyFile the key or passphrase file given on the command line, or null
 * @param keyIsPassphrase whether {@code keyFile} holds a passphrase (else a key file)
 * @param unitSize the unit of the merge, the point's chunk size
 * @param size the volume's size in bytes
 * @param cursor every unit before this offset is in the volume and durable, or zeros in the source
 * @param created when the restore started, ISO-8601
 */
public record RestoreRecord(int version, String volume, String repository, String point, String export,
    String keyFile, boolean keyIsPassphrase, int unitSize, long size, long cursor, String created) {
  /** The format version this code writes and reads. */
  public static final int VERSION = 1;
  /** The directory of a datastore holding the records. */
  public static final String DIRECTORY = "instant-restore";
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(SerializationFeature.INDENT_OUTPUT);

  /** Checks the fields. */
  public RestoreRecord {
    Objects.requireNonNull(volume, "volume");
    Objects.requireNonNull(repository, "repository");
    Objects.requireNonNull(point, "point");
    if (cursor < 0 || cursor > size || size < 0) {
      throw new IllegalArgumentException("bad restore record for " + volume + ": cursor " + cursor + " of " + size);
    }
  }

  /** Returns this record with the copy durable up to {@code newCursor}. */
  RestoreRecord withCursor(long newCursor) {
    return new RestoreRecord(version, volume, repository, point, export, keyFile, keyIsPassphrase, unitSize, size,
        newCursor, created);
  }

  /** Returns the record file of {@code volume} in datastore directory {@code datastore}. */
  static Path file(Path datastore, String volume) {
    return datastore.resolve(DIRECTORY).resolve(volume + ".json");
  }

  /** Returns the zero log of {@code volume} in datastore directory {@code datastore}. */
  static Path zeroLog(Path datastore, String volume) {
    return datastore.resolve(DIRECTORY).resolve(volume + ".zeros");
  }

  /** Writes this record into datastore directory {@code datastore}, replacing the previous one. */
  void save(Path datastore) throws IOException {
    AtomicFiles.replace(file(datastore, volume), JSON.writeValueAsBytes(this));
  }

  /** Reads the record at {@code file}; null if there is none. */
  static RestoreRecord load(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    }
    RestoreRecord r;
    try {
      r = JSON.readValue(bytes, RestoreRecord.class);
    } catch (JsonProcessingException e) {
      throw new CorruptDataException("bad instant-restore record: " + file + ": " + e.getOriginalMessage(), e);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new CorruptDataException("bad instant-restore record: " + file + ": " + e.getMessage(), e);
    }
    if (r == null || r.version() != VERSION) {
      throw new CorruptDataException("unsupported instant-restore record: " + file + ": version "
          + (r == null ? "(none)" : r.version()) + " (supported " + VERSION + ")");
    }
    return r;
  }
}
