package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;

/** What unlocks an encrypted repository: a passphrase or the contents of a key file. */
public sealed interface KeySource {
  /** Fewest bytes a key file holds. */
  int MIN_KEY_FILE_BYTES = 32;
  /** Most bytes read from a key or passphrase file. */
  int MAX_FILE_BYTES = 64 * 1024;

  /** A passphrase, stretched with Argon2id. */
  record Passphrase(char[] value) implements KeySource {
    public Passphrase {
      if (value.length == 0) {
        throw new IllegalArgumentException("empty passphrase");
      }
      value = value.clone();
    }

    @Override
    public String toString() {
      return "Passphrase[***]";
    }
  }

  /** The contents of a key file: at least 32 random bytes, used as they are (no stretching needed). */
  record KeyFile(byte[] contents) implements KeySource {
    public KeyFile {
      if (contents.length < MIN_KEY_FILE_BYTES) {
        throw new IllegalArgumentException("key file holds " + contents.length + " bytes, fewer than " + MIN_KEY_FILE_BYTES);
      }
      contents = contents.clone();
    }

    @Override
    public String toString() {
      return "KeyFile[***]";
    }
  }

  /** Reads a passphrase from the UTF-8 file {@code path}; one trailing line break is dropped. */
  static KeySource fromPassphraseFile(Path path) throws IOException {
    byte[] bytes = readBounded(path);
    int end = bytes.length;
    if (end > 0 && bytes[end - 1] == '\n') {
      end--;
      if (end > 0 && bytes[end - 1] == '\r') {
        end--;
      }
    }
    if (end == 0) {
      throw new IOException("passphrase file " + path + " is empty");
    }
    try {
      CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes, 0, end));
      char[] value = new char[chars.remaining()];
      chars.get(value);
      return new Passphrase(value);
    } catch (CharacterCodingException e) {
      throw new IOException("passphrase file " + path + " is not UTF-8 text");
    } finally {
      Arrays.fill(bytes, (byte) 0);
    }
  }

  /** Reads a key file (at least 32 bytes). */
  static KeySource fromKeyFile(Path path) throws IOException {
    byte[] bytes = readBounded(path);
    if (bytes.length < MIN_KEY_FILE_BYTES) {
      throw new IOException("key file " + path + " holds " + bytes.length + " bytes; a key file needs at least "
          + MIN_KEY_FILE_BYTES + " random bytes");
    }
    return new KeyFile(bytes);
  }

  /** Creates a new key file of 32 random bytes, readable by its owner only, and returns it as a key. */
  static KeySource createKeyFile(Path path) throws IOException {
    byte[] bytes = Aead.randomBytes(32);
    try {
      Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(path);
    }
    Files.write(path, bytes, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
    return new KeyFile(bytes);
  }

  private static byte[] readBounded(Path path) throws IOException {
    long size = Files.size(path);
    if (size > MAX_FILE_BYTES) {
      throw new IOException("key or passphrase file " + path + " is " + size + " bytes, more than " + MAX_FILE_BYTES);
    }
    return Files.readAllBytes(path);
  }
}
