package io.vstore.blockstore.store;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
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
    int criticalPercent, @JsonInclude(JsonInclude.Include.NON_NULL) String encryption) {
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
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  static DatastoreDescriptor read(Path dir) throws IOException {
    Path file = dir.resolve(FILE);
    DatastoreDescriptor d;
    try {
      d = JSON.readValue(file.toFile(), DatastoreDescriptor.class);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new DatastoreException("bad datastore: " + file + " is not a datastore descriptor: " + e.getOriginalMessage());
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
    AtomicFiles.replace(dir.resolve(FILE), JSON.writeValueAsBytes(this));
  }

  DatastoreDescriptor withCapacity(long bytes, int warning, int critical) {
    return new DatastoreDescriptor(format, version, uuid, created, bytes, warning, critical, encryption);
  }
}
