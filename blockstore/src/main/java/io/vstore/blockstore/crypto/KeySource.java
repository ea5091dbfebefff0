package io.vstore.blockstore.crypto;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;

/** What unlocks (or makes) a key slot of an encrypted datastore: a passphrase or a key file's 256-bit key. */
public sealed interface KeySource {
  /** Returns where the secret came from, for messages (a file name, never the secret). */
  String origin();

  /** Returns the slot kind this source opens. */
  KeySlot.Kind kind();

  /**
   * A passphrase, stretched with Argon2id; {@code cost} applies to slots made from it.
   *
   * @param secret the passphrase's UTF-8 bytes
   * @param origin where it came from
   * @param cost the Argon2id cost of new slots
   */
  record Passphrase(byte[] secret, String origin, Argon2Cost cost) implements KeySource {
    public Passphrase {
      if (secret.length == 0) {
        throw new IllegalArgumentException("empty passphrase (" + origin + ")");
      }
    }

    @Override
    public KeySlot.Kind kind() {
      return KeySlot.Kind.PASSPHRASE;
    }

    /** Returns this passphrase making slots of Argon2id cost {@code c}. */
    public Passphrase withCost(Argon2Cost c) {
      return new Passphrase(secret, origin, c);
    }

    @Override
    public String toString() {
      return "passphrase from " + origin;
    }
  }

  /**
   * A 256-bit key read from a key file (32 raw bytes, or 64 hexadecimal digits).
   *
   * @param key the 32 key bytes
   * @param origin the file it came from
   */
  record KeyFile(byte[] key, String origin) implements KeySource {
    public KeyFile {
      if (key.length != 32) {
        throw new IllegalArgumentException("a key file's key has 32 bytes, not " + key.length);
      }
    }

    @Override
    public KeySlot.Kind kind() {
      return KeySlot.Kind.KEY_FILE;
    }

    @Override
    public String toString() {
      return "key file " + origin;
    }
  }

  /** Returns the passphrase {@code text} (for the Java API and tests). */
  static Passphrase passphrase(String text) {
    return new Passphrase(text.getBytes(StandardCharsets.UTF_8), "the caller", Argon2Cost.DEFAULT);
  }

  /**
   * Reads a passphrase from {@code file}: its content without one trailing line break. Refuses
   * files over 4 KiB and empty passphrases with one line.
   */
  static Passphrase passphraseFile(Path file) throws IOException {
    byte[] bytes = readSmall(file, 4096, "passphrase file");
    int n = bytes.length;
    if (n > 0 && bytes[n - 1] == '\n') {
      n--;
      if (n > 0 && bytes[n - 1] == '\r') {
        n--;
      }
    }
    if (n == 0) {
      throw new KeyException("passphrase file " + file + " is empty");
    }
    return new Passphrase(Arrays.copyOf(bytes, n), file.toString(), Argon2Cost.DEFAULT);
  }

  /** Reads a key file: 32 raw bytes, or 64 hexadecimal digits with optional surrounding whitespace. */
  static KeyFile keyFile(Path file) throws IOException {
    byte[] bytes = readSmall(file, 4096, "key file");
    if (bytes.length == 32) {
      return new KeyFile(bytes, file.toString());
    }
    String text = new String(bytes, StandardCharsets.US_ASCII).strip();
    if (text.length() == 64) {
      try {
        return new KeyFile(HexFormat.of().parseHex(text), file.toString());
      } catch (IllegalArgumentException e) {
        // falls through to the one message below
      }
    }
    throw new KeyException("bad key file: " + file + " holds " + bytes.length
        + " bytes; a key file holds a 256-bit key as 32 raw bytes or 64 hexadecimal digits");
  }

  /** Writes a new random key file (64 hexadecimal digits and a line break, owner-only) and returns its key. */
  static KeyFile createKeyFile(Path file) throws IOException {
    byte[] key = new byte[32];
    Secrets.RANDOM.nextBytes(key);
    if (Files.exists(file)) {
      throw new KeyException("key file " + file + " already exists");
    }
    io.vstore.blockstore.AtomicFiles.replacePrivate(file,
        (HexFormat.of().formatHex(key) + "\n").getBytes(StandardCharsets.US_ASCII));
    return new KeyFile(key, file.toString());
  }

  private static byte[] readSmall(Path file, int max, String what) throws IOException {
    try {
      long size = Files.size(file);
      if (size > max) {
        throw new KeyException(what + " " + file + " is " + size + " bytes, more than " + max);
      }
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new KeyException(what + " " + file + " does not exist");
    }
  }
}
