package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.backup.crypto.Argon2Params;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.time.Instant;

/**
 * A {@code keys/<id>} object: one wrapped copy of the master key (data key || chunk-id key). Never
 * encrypted as a whole (its wrapped key is). Body, version 1, big-endian:
 *
 * <pre>
 *  0  1  kind: 1 passphrase (Argon2id), 2 key file (HMAC-SHA256(file, salt))
 *  1  4  Argon2 memory KiB (0 for a key file)
 *  5  4  Argon2 iterations (0 for a key file)
 *  9  1  Argon2 lanes (0 for a key file)
 * 10 16  salt
 * 26  8  creation time, epoch milliseconds
 * 34  2+n label (u16 length, UTF-8, at most 1024 bytes)
 *  .  2  m = wrapped key length (92)
 *  .  m  AES-256-GCM(derived key, master key of 64 bytes), the repository id as associated data
 * </pre>
 */
record KeyObject(int kind, Argon2Params argon2, byte[] salt, long createdMillis, String label, byte[] wrapped) {
  static final int VERSION = 1;
  static final int PASSPHRASE = 1;
  static final int KEY_FILE = 2;
  static final int MASTER_BYTES = 64;
  static final int WRAPPED_BYTES = MASTER_BYTES + Aead.OVERHEAD;
  static final int MAX_LABEL_BYTES = 1024;

  KeyInfo info(String id) {
    return new KeyInfo(id, kind == PASSPHRASE ? "passphrase" : "key-file", label, Instant.ofEpochMilli(createdMillis));
  }

  byte[] write(String objectKey) {
    ByteBuffer b = ByteBuffer.allocate(38 + Envelope.stringBytes(label) + WRAPPED_BYTES);
    b.put((byte) kind);
    if (argon2 == null) {
      b.putInt(0).putInt(0).put((byte) 0);
    } else {
      b.putInt(argon2.memoryKiB()).putInt(argon2.iterations()).put((byte) argon2.parallelism());
    }
    b.put(salt).putLong(createdMillis);
    Envelope.putString(b, label);
    b.putShort((short) wrapped.length).put(wrapped);
    return Envelope.write(Envelope.KEY, VERSION, b.flip(), null, objectKey);
  }

  static KeyObject read(byte[] obj, String objectKey) throws CorruptObjectException, UnsupportedFormatException {
    ByteBuffer b = Envelope.read(obj, 0, obj.length, Envelope.KEY, VERSION, null, objectKey);
    String what = "key";
    Envelope.need(b, 34, objectKey, what, "fixed fields");
    int kind = b.get() & 0xff;
    int mem = b.getInt();
    int iterations = b.getInt();
    int lanes = b.get() & 0xff;
    Argon2Params params = null;
    if (kind == PASSPHRASE) {
      try {
        params = new Argon2Params(mem, iterations, lanes);
      } catch (IllegalArgumentException e) {
        throw Envelope.corrupt(objectKey, what, e.getMessage());
      }
    } else if (kind != KEY_FILE) {
      throw Envelope.corrupt(objectKey, what, "kind " + kind + ", expected 1 (passphrase) or 2 (key file)");
    }
    byte[] salt = new byte[16];
    b.get(salt);
    long created = b.getLong();
    String label = Envelope.getString(b, objectKey, what, "label");
    if (label == null || label.length() > MAX_LABEL_BYTES) {
      throw Envelope.corrupt(objectKey, what, "label missing or longer than " + MAX_LABEL_BYTES);
    }
    Envelope.need(b, 2, objectKey, what, "wrapped key length");
    int n = b.getShort() & 0xffff;
    if (n != WRAPPED_BYTES) {
      throw Envelope.corrupt(objectKey, what, "wrapped key of " + n + " bytes, expected " + WRAPPED_BYTES);
    }
    Envelope.need(b, n, objectKey, what, "wrapped key");
    byte[] wrapped = new byte[n];
    b.get(wrapped);
    return new KeyObject(kind, params, salt, created, label, wrapped);
  }
}
