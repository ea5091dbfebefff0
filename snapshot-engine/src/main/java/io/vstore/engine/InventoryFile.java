package io.vstore.engine;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The inventory's JSON file, replaced atomically: the new content goes to a temp file that is
 * synced, renamed over the old one, and the directory is synced, so a crash leaves the old or the
 * new document whole.
 */
final class InventoryFile {
  /** Directory inside the datastore that holds the engine's files. */
  static final String DIRECTORY = "engine";
  /** The inventory file's name. */
  static final String NAME = "inventory.json";
  /** Largest inventory file read: far beyond any real inventory, small enough to hold in memory. */
  static final long MAX_BYTES = 64L << 20;
  private static final String TEMP_SUFFIX = ".tmp";

  /**
   * The mapper, created on first use: a datastore without VMs or pools has no file, and creating
   * an object mapper costs a short command tens of milliseconds.
   */
  private static final class Mapper {
    static final ObjectMapper JSON = new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .addMixIn(VirtualMachine.class, VirtualMachineFields.class);
  }

  /**
   * Leaves a VM's {@code media} out of the file when it has none, so that an inventory without media
   * files stays readable by a vstore that knows none (its reader refuses unknown fields); the CLI and
   * API print the field always.
   */
  private abstract static class VirtualMachineFields {
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    abstract List<MediaFile> media();
  }

  private final Path file;

  /** Creates the handle of the inventory file inside datastore directory {@code datastoreDir}. */
  InventoryFile(Path datastoreDir) {
    this.file = datastoreDir.resolve(DIRECTORY).resolve(NAME);
  }

  /** Returns the file's path. */
  Path path() {
    return file;
  }

  /** Reads the document, or returns an empty one when the file does not exist yet. */
  InventoryDocument read() throws IOException {
    if (!Files.exists(file)) {
      return InventoryDocument.empty();
    }
    long size = Files.size(file);
    if (size > MAX_BYTES) {
      throw new InventoryException("bad inventory: " + file + " is " + size + " bytes, more than the limit "
          + MAX_BYTES);
    }
    byte[] bytes = Files.readAllBytes(file);
    InventoryDocument d;
    try {
      d = Mapper.JSON.readValue(bytes, InventoryDocument.class);
    } catch (JacksonException e) {
      throw new InventoryException("bad inventory: " + file + " is not a valid inventory document: "
          + e.getOriginalMessage(), e);
    }
    if (d == null || !InventoryDocument.FORMAT.equals(d.format())) {
      throw new InventoryException("bad inventory: " + file + " has format "
          + (d == null ? null : d.format()) + ", expected " + InventoryDocument.FORMAT);
    }
    if (d.version() < InventoryDocument.MIN_VERSION || d.version() > InventoryDocument.VERSION) {
      throw new InventoryException("unsupported inventory: " + file + " has version " + d.version()
          + ", this vstore reads versions " + InventoryDocument.MIN_VERSION + " to " + InventoryDocument.VERSION);
    }
    d.validate(file);
    return d;
  }

  /** Replaces the file with {@code doc}, durably and atomically. */
  void write(InventoryDocument doc) throws IOException {
    Path dir = file.getParent();
    Files.createDirectories(dir);
    AtomicFiles.replace(file, Mapper.JSON.writeValueAsBytes(doc));
  }
}
