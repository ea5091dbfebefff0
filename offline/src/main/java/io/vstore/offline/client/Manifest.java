package io.vstore.offline.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.AtomicFiles;
import io.vstore.offline.SignedPolicy;
import io.vstore.offline.TransferException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

/**
 * The copy's {@code offline.json}: which server and check-out, the VM's configuration and disks
 * (each with the client snapshot the next check-in compares against), the signed policy and the
 * server's public key, the passphrase's salt and verifier, the client clock's high-water mark
 * ({@code lastSeen}, so a clock set back is detected), the state, and an HMAC-SHA256 over all of it
 * with the passphrase's key: an edited manifest is detected when the copy is opened.
 */
record Manifest(int version, String server, String checkoutId, String vm, JsonNode config, List<Disk> disks,
    SignedPolicy policy, String publicKey, String salt, String verifier, String lastSeen, State state, int checkins,
    String mac) {
  static final String FILE = "offline.json";
  static final int VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Where the copy stands. */
  enum State {
    /** The download has not finished (resumable). */
    DOWNLOADING,
    /** Complete: it can run and be checked in. */
    READY,
    /** Checked in: the server has the changes and the lock is released. */
    CHECKED_IN,
    /** Rolled back on the server: the copy is void. */
    ROLLED_BACK
  }

  /**
   * One disk of the copy.
   *
   * @param index its index in the VM
   * @param volume its volume in the copy's datastore
   * @param size its size
   * @param baseSnapshot the client snapshot the next check-in sends changes since (null while downloading)
   * @param baseChangeId that snapshot's change id
   */
  record Disk(int index, String volume, long size, String baseSnapshot, String baseChangeId) {}

  Manifest withState(State s) {
    return new Manifest(version, server, checkoutId, vm, config, disks, policy, publicKey, salt, verifier, lastSeen, s,
        checkins, null);
  }

  Manifest withLastSeen(String t) {
    return new Manifest(version, server, checkoutId, vm, config, disks, policy, publicKey, salt, verifier, t, state,
        checkins, null);
  }

  Manifest withCheckin(List<Disk> d, SignedPolicy p, int n, State s) {
    return new Manifest(version, server, checkoutId, vm, config, d, p, publicKey, salt, verifier, lastSeen, s, n, null);
  }

  Manifest withPolicy(SignedPolicy p) {
    return new Manifest(version, server, checkoutId, vm, config, disks, p, publicKey, salt, verifier, lastSeen, state,
        checkins, null);
  }

  Manifest withDisks(List<Disk> d) {
    return new Manifest(version, server, checkoutId, vm, config, d, policy, publicKey, salt, verifier, lastSeen, state,
        checkins, null);
  }

  private Manifest unsigned() {
    return new Manifest(version, server, checkoutId, vm, config, disks, policy, publicKey, salt, verifier, lastSeen,
        state, checkins, null);
  }

  /** Saves this manifest into {@code dir}, MAC'd with {@code key}. */
  void save(Path dir, Passphrase key) throws IOException {
    Manifest u = unsigned();
    String mac = Base64.getEncoder().encodeToString(key.mac(JSON.writeValueAsBytes(u)));
    Manifest signed = new Manifest(version, server, checkoutId, vm, config, disks, policy, publicKey, salt, verifier,
        lastSeen, state, checkins, mac);
    AtomicFiles.replacePrivate(dir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(signed));
  }

  /** Reads the manifest of the copy in {@code dir} without checking it. */
  static Manifest read(Path dir) throws IOException {
    Path f = dir.resolve(FILE);
    if (!Files.exists(f)) {
      throw new IllegalArgumentException(dir + " is not an offline copy (no " + FILE + ")");
    }
    Manifest m;
    try {
      m = JSON.readValue(f.toFile(), Manifest.class);
    } catch (IOException e) {
      throw new TransferException("bad offline copy " + f + ": " + e.getMessage());
    }
    if (m.version() != VERSION) {
      throw new TransferException("unsupported offline copy " + f + ": version " + m.version() + " (this vstore reads "
          + VERSION + ")");
    }
    return m;
  }

  /** Checks the passphrase and the MAC; returns the key. */
  Passphrase unlock(Path dir, char[] passphrase) throws IOException {
    Passphrase key = Passphrase.derive(passphrase, Base64.getDecoder().decode(salt));
    if (!key.matches(Base64.getDecoder().decode(verifier))) {
      throw new IllegalArgumentException("wrong passphrase for the offline copy in " + dir);
    }
    byte[] expected = key.mac(JSON.writeValueAsBytes(unsigned()));
    if (mac == null || !java.security.MessageDigest.isEqual(expected, Base64.getDecoder().decode(mac))) {
      throw new TransferException("bad offline copy " + dir.resolve(FILE) + ": its MAC does not match (tampered with?)");
    }
    return key;
  }
}
