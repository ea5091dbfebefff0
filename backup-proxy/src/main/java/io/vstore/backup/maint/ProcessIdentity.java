package io.vstore.backup.maint;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * Who holds a lock: the host (its name for people, its machine id to compare), the process id and
 * the process's start time, which tells a live holder from a later process that reuses its pid.
 *
 * @param hostId {@code /etc/machine-id} when readable, else the host name
 * @param host the host name
 * @param pid the process id
 * @param processStart the process's start time in milliseconds since the epoch, or -1 if unknown
 */
public record ProcessIdentity(String hostId, String host, long pid, long processStart) {

  /** Returns the identity of this process. */
  public static ProcessIdentity current() {
    ProcessHandle self = ProcessHandle.current();
    String host = hostName();
    return new ProcessIdentity(machineId().orElse(host), host, self.pid(), startMillis(self));
  }

  /**
   * Returns whether the process this identity names is alive on this host. Only meaningful when
   * {@code hostId} is this host's: a pid that no longer exists, or that now belongs to a process
   * started at another time, means the holder is gone.
   */
  public boolean isAliveHere() {
    Optional<ProcessHandle> p = ProcessHandle.of(pid);
    if (p.isEmpty() || !p.get().isAlive()) {
      return false;
    }
    long start = startMillis(p.get());
    // An unknown start time on either side cannot prove reuse; the pid being alive must do.
    return processStart < 0 || start < 0 || start == processStart;
  }

  /** Returns {@code host pid N}, for messages. */
  @Override
  public String toString() {
    return host + " pid " + pid;
  }

  private static long startMillis(ProcessHandle p) {
    return p.info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
  }

  private static String hostName() {
    String env = System.getenv("HOSTNAME");
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return env != null && !env.isBlank() ? env : "localhost";
    }
  }

  private static Optional<String> machineId() {
    for (String f : new String[] {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
      try {
        String id = Files.readString(Path.of(f), StandardCharsets.US_ASCII).strip();
        if (!id.isEmpty() && id.length() <= 64) {
          return Optional.of(id);
        }
      } catch (IOException | SecurityException e) {
        // try the next place; a host without one is compared by name
      }
    }
    return Optional.empty();
  }
}
