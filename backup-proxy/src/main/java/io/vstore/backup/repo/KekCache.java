package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.backup.crypto.Argon2Params;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The key-encryption keys this process derived from passphrases with Argon2id, so that a long-lived
 * process (the daemon, which runs every backup and restore job of its datastores) stretches a
 * passphrase once per key object rather than once per job: 0.5-0.65 s of every backup.
 *
 * <p>An entry is found by the key object's salt and cost and by an HMAC of the passphrase under a
 * random key made at class load, never by the passphrase itself: the cache holds no passphrase, and a
 * different (wrong) passphrase misses and pays Argon2 as before, whose result then fails to unwrap.
 * What it holds is as secret as the repository keys the process holds anyway while a repository is
 * open; it lives in memory only, never on disk, and is bounded ({@link #MAX_ENTRIES}, least recently
 * used first out).
 */
final class KekCache {
  /** Key objects remembered; a daemon serves a handful of repositories, each with a few keys. */
  static final int MAX_ENTRIES = 64;
  private static final byte[] PROCESS_KEY = Aead.randomBytes(32);
  private static final Map<String, byte[]> ENTRIES = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, byte[]> eldest) {
      if (size() > MAX_ENTRIES) {
        Arrays.fill(eldest.getValue(), (byte) 0);
        return true;
      }
      return false;
    }
  };

  private KekCache() {}

  /** Returns the key-encryption key for {@code passphrase} under {@code salt} and {@code cost}: derived once, then remembered. */
  static byte[] derive(Argon2Params cost, byte[] salt, char[] passphrase) {
    String name = name(cost, salt, passphrase);
    synchronized (ENTRIES) {
      byte[] kek = ENTRIES.get(name);
      if (kek != null) {
        return kek.clone();
      }
    }
    // Outside the lock: two jobs opening two repositories at once stretch in parallel.
    byte[] kek = cost.derive(passphrase, salt);
    synchronized (ENTRIES) {
      ENTRIES.put(name, kek.clone());
    }
    return kek;
  }

  /** Forgets every entry (tests; a process that wants no key material left behind). */
  static void clear() {
    synchronized (ENTRIES) {
      ENTRIES.values().forEach(k -> Arrays.fill(k, (byte) 0));
      ENTRIES.clear();
    }
  }

  /** Returns the number of entries (tests). */
  static int size() {
    synchronized (ENTRIES) {
      return ENTRIES.size();
    }
  }

  private static String name(Argon2Params cost, byte[] salt, char[] passphrase) {
    ByteBuffer utf8 = StandardCharsets.UTF_8.encode(CharBuffer.wrap(passphrase));
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(PROCESS_KEY, "HmacSHA256"));
      mac.update(utf8.duplicate());
      HexFormat hex = HexFormat.of();
      return hex.formatHex(salt) + '/' + cost.memoryKiB() + '/' + cost.iterations() + '/' + cost.parallelism() + '/'
          + hex.formatHex(mac.doFinal());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no HmacSHA256", e);
    } finally {
      if (utf8.hasArray()) {
        Arrays.fill(utf8.array(), (byte) 0);
      }
    }
  }
}
