package io.vstore.blockstore.crypto;

/**
 * One wrapped copy of a datastore's data key: the data key sealed with AES-256-GCM under a key
 * encryption key derived from a passphrase (Argon2id) or taken from a key file.
 *
 * @param label the slot's name, unique in its datastore (1-64 bytes of UTF-8)
 * @param kind what opens it
 * @param cost the Argon2id cost (passphrase slots; null for key-file slots)
 * @param salt 16 random bytes, the Argon2id salt (zeros for key-file slots)
 * @param nonce the 12-byte GCM nonce of the wrapping
 * @param wrapped the wrapped data key: 32 bytes of ciphertext and the 16-byte tag
 */
public record KeySlot(String label, Kind kind, Argon2Cost cost, byte[] salt, byte[] nonce, byte[] wrapped) {
  static final int SALT_BYTES = 16;
  static final int NONCE_BYTES = 12;
  static final int WRAPPED_BYTES = 48;
  static final int MAX_LABEL_BYTES = 64;

  /** What opens a slot. */
  public enum Kind {
    /** A passphrase through Argon2id; code 1 in the file. */
    PASSPHRASE,
    /** A key file's 256-bit key; code 2 in the file. */
    KEY_FILE;

    int code() {
      return ordinal() + 1;
    }

    /** Returns the lower-case name used by the CLI and in JSON. */
    public String label() {
      return this == PASSPHRASE ? "passphrase" : "key-file";
    }
  }

  public KeySlot {
    if (salt.length != SALT_BYTES || nonce.length != NONCE_BYTES || wrapped.length != WRAPPED_BYTES) {
      throw new IllegalArgumentException("bad key slot sizes");
    }
    if ((kind == Kind.PASSPHRASE) != (cost != null)) {
      throw new IllegalArgumentException("a passphrase slot, and only one, has an Argon2id cost");
    }
    checkLabel(label);
  }

  /** Checks that {@code label} can name a slot. */
  static void checkLabel(String label) {
    int n = label.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    if (n == 0 || n > MAX_LABEL_BYTES || label.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw new IllegalArgumentException("bad key slot label '" + label + "': 1-64 bytes, no control characters");
    }
  }
}
