package io.vstore.blockstore.store;

import com.fasterxml.jackson.core.JacksonException;
import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * The datastore's small JSON descriptor ({@code datastore.json}): what the directory is, its
 * identity and its capacity settings. Written atomically (temp file, fsync, rename), so it needs
 * no checksum of its own: a torn file cannot appear, and a damaged one fails to parse or to name
 * its format. The {@code format} and {@code version} fields go through the same
 * {@link FormatCodec} checks as the binary formats.
 *
 * @param format always {@value #FORMAT}
 * @param version descriptor version, {@value #VERSION}
 * @param uuid the datastore's identity, stamped into every segment header
 * @param created creation time, ISO-8601
 * @param capacity capacity limit in bytes, or 0 for the free space of the file system
 * @param warningPercent usage that raises a warning alarm
 * @param criticalPercent usage that raises a critical alarm
 * @param encryption {@value #AES_256_GCM} for an encrypted datastore (version 2), absent (null) otherwise
 */
record DatastoreDescriptor(String format, int version, UUID uuid, String created, long capacity, int warningPercent,
    int criticalPercent, String encryption) {
  /**
   * The descriptor's format; its codec name is the {@code format} field, checked with the version.
   * Version 2 is written for encrypted datastores only, so that a vstore that cannot decrypt
   * refuses to open them; plain datastores keep version 1.
   */
  static final FormatCodec CODEC = new FormatCodec("vstore-datastore", "datastore", "", 1, 2);
  static final String FORMAT = CODEC.name();
  static final int VERSION = 1;
  static final int ENCRYPTED_VERSION = 2;
  /** The one encryption scheme: records sealed with AES-256-GCM, the data key in the {@code keys} file. */
  static final String AES_256_GCM = "aes-256-gcm";
  static final String FILE = "datastore.json";
  /** The largest descriptor read: it holds a few short fields; anything larger is not one. */
  private static final int MAX_BYTES = 64 << 10;

  static DatastoreDescriptor read(Path dir) throws IOException {
    Path file = dir.resolve(FILE);
    long bytes = Files.size(file);
    if (bytes > MAX_BYTES) {
      throw new DatastoreException("bad datastore: " + file + " is not a datastore descriptor: " + bytes
          + " bytes (at most " + MAX_BYTES + ")");
    }
    DatastoreDescriptor d;
    try {
      d = decode(Files.readAllBytes(file));
    } catch (JacksonException | IllegalArgumentException e) {
      String why = e instanceof JacksonException j ? j.getOriginalMessage() : e.getMessage();
      throw new DatastoreException("bad datastore: " + file + " is not a datastore descriptor: " + why);
    }
    if (!FORMAT.equals(d.format()) || d.uuid() == null) {
      throw new DatastoreException("bad datastore: " + file + " is not a vstore datastore descriptor (format "
          + d.format() + ", expected " + FORMAT + ")");
    }
    CODEC.checkVersion(d.version(), file::toString);
    if ((d.version() == ENCRYPTED_VERSION) != AES_256_GCM.equals(d.encryption())) {
      throw new DatastoreException("bad datastore: " + file + " has version " + d.version() + " and encryption "
          + d.encryption() + " (version 2 and " + AES_256_GCM + " go together)");
    }
    return d;
  }

  /** Returns whether the datastore is encrypted. */
  boolean encrypted() {
    return encryption != null;
  }

  void write(Path dir) throws IOException {
    AtomicFiles.replace(dir.resolve(FILE), encode());
  }

  /** Returns the descriptor as indented JSON, its fields in declaration order, no {@code encryption} when null. */
  byte[] encode() {
    return JsonRecords.write(true, g -> {
      g.writeStringField("format", format);
      g.writeNumberField("version", version);
      g.writeStringField("uuid", uuid == null ? null : uuid.toString());
      g.writeStringField("created", created);
      g.writeNumberField("capacity", capacity);
      g.writeNumberField("warningPercent", warningPercent);
      g.writeNumberField("criticalPercent", criticalPercent);
      if (encryption != null) {
        g.writeStringField("encryption", encryption);
      }
    });
  }

  /** Reads a descriptor from its JSON; throws for malformed JSON or a malformed uuid. */
  static DatastoreDescriptor decode(byte[] json) throws IOException {
    String[] text = new String[4]; // format, uuid, created, encryption
    long[] number = new long[4]; // version, capacity, warningPercent, criticalPercent
    JsonRecords.read(json, (name, p) -> {
      switch (name) {
        case "format" -> text[0] = JsonRecords.text(p);
        case "version" -> number[0] = JsonRecords.smallNumber(p);
        case "uuid" -> text[1] = JsonRecords.text(p);
        case "created" -> text[2] = JsonRecords.text(p);
        case "capacity" -> number[1] = JsonRecords.number(p);
        case "warningPercent" -> number[2] = JsonRecords.smallNumber(p);
        case "criticalPercent" -> number[3] = JsonRecords.smallNumber(p);
        case "encryption" -> text[3] = JsonRecords.text(p);
        default -> {
          return false;
        }
      }
      return true;
    });
    return new DatastoreDescriptor(text[0], (int) number[0], text[1] == null ? null : UUID.fromString(text[1]), text[2],
        number[1], (int) number[2], (int) number[3], text[3]);
  }

  DatastoreDescriptor withCapacity(long bytes, int warning, int critical) {
    return new DatastoreDescriptor(format, version, uuid, created, bytes, warning, critical, encryption);
  }
}
