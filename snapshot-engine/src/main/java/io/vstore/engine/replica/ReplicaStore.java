package io.vstore.engine.replica;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The replica records of one datastore: one JSON file per pair in {@code <datastore>/replicas/},
 * replaced atomically, each carrying a CRC32C of its other fields so a damaged file is refused.
 */
final class ReplicaStore {
  static final String DIRECTORY = "replicas";
  private static final long MAX_BYTES = 64 << 10;
  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  private final Path dir;

  ReplicaStore(Path datastoreDir) {
    this.dir = datastoreDir.resolve(DIRECTORY);
  }

  /** Checks that {@code id} can name a record file. */
  static String checkId(String id) {
    if (!ID.matcher(id).matches()) {
      throw new IllegalArgumentException("bad replica id '" + id + "': use 1 to 64 of a-z, 0-9 and '-'");
    }
    return id;
  }

  /** Writes {@code r} durably, replacing its previous version. */
  void write(ReplicaRecord r) throws IOException {
    Files.createDirectories(dir);
    ObjectNode node = JSON.valueToTree(r);
    node.put("crc32c", crc(node));
    AtomicFiles.replace(dir.resolve(checkId(r.id()) + ".json"), JSON.writeValueAsBytes(node));
  }

  /** Deletes the record of pair {@code id}, if there is one. */
  void delete(String id) throws IOException {
    Files.deleteIfExists(dir.resolve(checkId(id) + ".json"));
  }

  /** Reads every record, in id order. */
  List<ReplicaRecord> readAll() throws IOException {
    List<ReplicaRecord> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
      for (Path f : files) {
        out.add(read(f));
      }
    }
    out.sort((a, b) -> a.id().compareTo(b.id()));
    return out;
  }

  static ReplicaRecord read(Path f) throws IOException {
    long size = Files.size(f);
    if (size > MAX_BYTES) {
      throw new IOException("bad replica record: " + f + " is " + size + " bytes, more than " + MAX_BYTES);
    }
    try {
      ObjectNode node = (ObjectNode) JSON.readTree(Files.readAllBytes(f));
      String stored = node.path("crc32c").asText("");
      node.remove("crc32c");
      String actual = crc(node);
      if (!stored.equals(actual)) {
        throw new IOException("bad replica record: " + f + ": checksum " + stored + ", computed " + actual);
      }
      if (!ReplicaRecord.FORMAT.equals(node.path("format").asText())) {
        throw new IOException("bad replica record: " + f + " has format '" + node.path("format").asText() + "'");
      }
      int version = node.path("version").asInt();
      if (version != ReplicaRecord.VERSION) {
        throw new IOException("unsupported replica record: " + f + " has version " + version + ", this vstore reads "
            + ReplicaRecord.VERSION);
      }
      return JSON.treeToValue(node, ReplicaRecord.class);
    } catch (JacksonException | ClassCastException e) {
      throw new IOException("bad replica record: " + f + " is not a replica record: " + e.getMessage(), e);
    }
  }

  private static String crc(ObjectNode node) throws IOException {
    CRC32C c = new CRC32C();
    c.update(new ObjectMapper().writeValueAsString(node).getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().toHexDigits((int) c.getValue());
  }
}
