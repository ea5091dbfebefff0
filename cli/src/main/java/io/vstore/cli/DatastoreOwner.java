package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.store.DatastoreException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who owns a datastore, recorded beside its lock ({@code <datastore>/owner.json}: pid, role and
 * socket) by {@code vstore serve}, so that a refused command can name the owner instead of "another
 * process". The lock itself (the engine's) holds only the pid; the record is trusted only while its
 * pid is the lock's and alive.
 */
final class DatastoreOwner {
  /** The file beside the lock. */
  static final String FILE = "owner.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern LOCK_PID = Pattern.compile("\\(pid (\\d+)\\)");

  private DatastoreOwner() {}

  /** Records this process as the owner of {@code dir} in {@code role}, with its socket. */
  static void record(Path dir, String role, Path socket) throws IOException {
    Map<String, Object> owner = new LinkedHashMap<>();
    owner.put("pid", ProcessHandle.current().pid());
    owner.put("role", role);
    owner.put("socket", socket.toString());
    Path tmp = dir.resolve(FILE + ".tmp");
    Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(owner));
    Files.move(tmp, dir.resolve(FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** Removes the record this process wrote for {@code dir} (a record of another pid stays). */
  static void clear(Path dir) throws IOException {
    JsonNode owner = read(dir);
    if (owner != null && owner.path("pid").asLong() == ProcessHandle.current().pid()) {
      Files.deleteIfExists(dir.resolve(FILE));
    }
  }

  /**
   * Returns {@code e} reworded to name the owner when it says the datastore at {@code dir} is in use
   * and a live {@code vstore serve} recorded itself there; otherwise {@code e} unchanged.
   */
  static DatastoreException explain(Path dir, DatastoreException e) {
    String message = e.getMessage();
    if (message == null || !message.contains("in use")) {
      return e;
    }
    JsonNode owner = read(dir);
    if (owner == null || !owner.path("pid").canConvertToLong()) {
      return e;
    }
    long pid = owner.path("pid").asLong();
    Matcher lockPid = LOCK_PID.matcher(message);
    boolean sameAsLock = !lockPid.find() || Long.parseLong(lockPid.group(1)) == pid;
    if (!sameAsLock || !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
      return e;
    }
    DatastoreException named = new DatastoreException("datastore " + dir + " is owned by "
        + owner.path("role").asText("another process") + " (pid " + pid + "; socket " + owner.path("socket").asText()
        + ")");
    named.initCause(e);
    return named;
  }

  private static JsonNode read(Path dir) {
    Path file = dir.resolve(FILE);
    try {
      return Files.isRegularFile(file) && Files.size(file) < 4096 ? JSON.readTree(file.toFile()) : null;
    } catch (IOException ignored) {
      return null; // a torn or foreign file: fall back to the lock's own message
    }
  }
}
