package io.vstore.offline.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * The copy's passphrase, stretched with Argon2id (19 MiB, 2 passes: OWASP's floor, so a check-out
 * or a run costs a fraction of a second) into a verifier, kept in the manifest to tell a wrong
 * passphrase at once, and a MAC key, which the manifest is authenticated with.
 */
final class Passphrase {
  static final int SALT = 16;
  private final byte[] verifier;
  private final byte[] macKey;

  private Passphrase(byte[] verifier, byte[] macKey) {
    this.verifier = verifier;
    this.macKey = macKey;
  }

  /** Returns a new random salt. */
  static byte[] newSalt() {
    byte[] s = new byte[SALT];
    new SecureRandom().nextBytes(s);
    return s;
  }

  /** Reads the passphrase from the first line of {@code file}; an empty one is refused. */
  static char[] read(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    int nl = text.indexOf('\n');
    String line = nl < 0 ? text : text.substring(0, nl);
    if (line.endsWith("\r")) {
      line = line.substring(0, line.length() - 1);
    }
    if (line.isEmpty()) {
      throw new IllegalArgumentException("passphrase file " + file + " is empty");
    }
    return line.toCharArray();
  }

  /**
   * The last derivation of this process, keyed by the salt and an HMAC of the passphrase under a
   * random per-process key: a command unlocks the manifest more than once (and a running copy every
   * minute), and Argon2id is meant to be slow. Memory only; never written anywhere.
   */
  private static final byte[] MEMO_KEY = newSalt();
  private static volatile Object[] memo; // {salt, passphrase tag, Passphrase}

  /** Derives the verifier and MAC key of {@code passphrase} with {@code salt}. */
  static Passphrase derive(char[] passphrase, byte[] salt) {
    byte[] tag = tag(passphrase);
    Object[] m = memo;
    if (m != null && Arrays.equals((byte[]) m[0], salt) && MessageDigest.isEqual((byte[]) m[1], tag)) {
      return (Passphrase) m[2];
    }
    Passphrase p = stretch(passphrase, salt);
    memo = new Object[] {salt.clone(), tag, p};
    return p;
  }

  private static byte[] tag(char[] passphrase) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(MEMO_KEY, "HmacSHA256"));
      java.nio.ByteBuffer b = StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(passphrase));
      m.update(b);
      return m.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from the JDK", e);
    }
  }

  private static Passphrase stretch(char[] passphrase, byte[] salt) {
    Argon2Parameters params = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id).withSalt(salt)
        .withMemoryAsKB(19 * 1024).withIterations(2).withParallelism(1).build();
    Argon2BytesGenerator gen = new Argon2BytesGenerator();
    gen.init(params);
    byte[] out = new byte[64];
    gen.generateBytes(passphrase, out);
    return new Passphrase(Arrays.copyOfRange(out, 0, 32), Arrays.copyOfRange(out, 32, 64));
  }

  /** Returns the key of the copy's datastore key slot: the MAC key's HMAC-SHA256 of a label of its own. */
  byte[] datastoreKey() {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(macKey, "HmacSHA256"));
      return m.doFinal("vstore offline copy datastore key v1".getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from the JDK", e);
    }
  }

  /** Returns the verifier kept in the manifest. */
  byte[] verifier() {
    return verifier.clone();
  }

  /** Returns whether {@code stored} is this passphrase's verifier (in constant time). */
  boolean matches(byte[] stored) {
    return MessageDigest.isEqual(verifier, stored);
  }

  /** Returns the HMAC-SHA256 of {@code bytes} with the MAC key. */
  byte[] mac(byte[] bytes) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(macKey, "HmacSHA256"));
      return m.doFinal(bytes);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from the JDK", e);
    }
  }
}
