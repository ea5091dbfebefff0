package io.vstore.server.exports;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The exports a datastore keeps across daemon restarts, in {@code <datastore>/exports.json}. Each
 * save writes a temporary file, syncs it and renames it over the old one, so a crash leaves
 * either the old list or the new one.
 */
final class ExportStore {
  /** The file inside the datastore directory. */
  static final String FILE = "exports.json";
  /** The format version this code writes and reads. */
  static final int VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * One saved export.
   *
   * @param name the export name
   * @param spec {@code VOLUME}, {@code VOLUME@SNAP} or an absolute image file path
   * @param readOnly whether writes are refused
   * @param dirtyBitmaps change ids offered as dirty bitmaps
   */
  record Saved(String name, String spec, boolean readOnly, List<String> dirtyBitmaps) {
    /** Checks the names and copies the change ids (none when the file omits them). */
    Saved {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(spec, "spec");
      dirtyBitmaps = dirtyBitmaps == null ? List.of() : List.copyOf(dirtyBitmaps);
    }
  }

  /** The file's content. */
  record Document(int version, List<Saved> exports) {}

  private ExportStore() {}

  /** Returns the exports saved in datastore {@code dir}, none if it has no file. */
  static List<Saved> load(Path dir) throws IOException {
    Path file = dir.resolve(FILE);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    Document doc;
    try {
      doc = JSON.readValue(bytes, Document.class);
    } catch (JsonProcessingException e) {
      throw new IOException("bad " + FILE + ": " + file + ": " + e.getOriginalMessage(), e);
    }
    if (doc == null || doc.version() != VERSION) {
      throw new IOException("unsupported " + FILE + ": " + file + ": version " + (doc == null ? "(none)" : doc.version())
          + " (supported " + VERSION + ")");
    }
    return doc.exports() == null ? List.of() : List.copyOf(doc.exports());
  }

  /** Replaces the exports saved in datastore {@code dir} with {@code exports}. */
  static void save(Path dir, List<Saved> exports) throws IOException {
    AtomicFiles.replace(dir.resolve(FILE), JSON.writeValueAsBytes(new Document(VERSION, exports)));
  }
}
