package io.vstore.blockstore.crypto;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * The key-slot file of an encrypted datastore ({@code keys}): the wrapped copies of its data key.
 *
 * <pre>
 * little-endian:
 *   0 bytes[8] magic "VSTOKEYS"     8 u32 version (1)       12 u32 slot count N (1-64)
 *  16 u64 datastore uuid, most significant half   24 u64 least significant half
 *  32 N slots, each:
 *       u8 kind (1 passphrase, 2 key file)   u8 label length L (1-64)   bytes[L] label, UTF-8
 *       u32 Argon2id memory KiB   u32 iterations   u32 parallelism   (all 0 for a key-file slot)
 *       bytes[16] salt   bytes[12] nonce   bytes[48] wrapped data key (ciphertext, GCM tag)
 *  then u32 CRC32C of every byte before it; the file ends there
 * </pre>
 */
final class KeySlotFile {
  static final byte[] MAGIC = "VSTOKEYS".getBytes(StandardCharsets.US_ASCII);
  static final int VERSION = 1;
  static final int MAX_SLOTS = 64;
  static final int HEADER_BYTES = 32;
  /** Larger than any valid file (64 slots of at most 2 + 64 + 12 + 76 bytes); checked before reading. */
  static final int MAX_FILE_BYTES = HEADER_BYTES + MAX_SLOTS * 154 + 4;

  private KeySlotFile() {}

  /** Encodes {@code slots} of the datastore {@code uuid}. */
  static byte[] encode(UUID uuid, List<KeySlot> slots) {
    if (slots.isEmpty() || slots.size() > MAX_SLOTS) {
      throw new IllegalArgumentException("a key-slot file holds 1-" + MAX_SLOTS + " slots, not " + slots.size());
    }
    ByteBuffer b = ByteBuffer.allocate(MAX_FILE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC).putInt(VERSION).putInt(slots.size());
    b.putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
    for (KeySlot s : slots) {
      byte[] label = s.label().getBytes(StandardCharsets.UTF_8);
      b.put((byte) s.kind().code()).put((byte) label.length).put(label);
      Argon2Cost c = s.cost();
      b.putInt(c == null ? 0 : c.memoryKiB()).putInt(c == null ? 0 : c.iterations()).putInt(c == null ? 0 : c.parallelism());
      b.put(s.salt()).put(s.nonce()).put(s.wrapped());
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    return java.util.Arrays.copyOf(b.array(), b.position());
  }

  /**
   * Parses a key-slot file's bytes; {@code where} names it in errors. Throws
   * {@link CorruptDataException} ("bad key slots: ...") for damage and
   * {@link UnsupportedFormatException} for a newer version.
   */
  static List<KeySlot> decode(byte[] bytes, UUID expected, String where) throws CorruptDataException,
      UnsupportedFormatException {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < HEADER_BYTES + 4) {
      throw bad(where, "is truncated (" + bytes.length + " bytes)");
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (bytes[i] != MAGIC[i]) {
        throw bad(where, "is not a vstore key-slot file (no \"VSTOKEYS\" magic)");
      }
    }
    int version = b.getInt(8);
    if (version != VERSION) {
      throw new UnsupportedFormatException(where, "vstore-keys", Integer.toUnsignedLong(version), VERSION, VERSION);
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    int stored = b.getInt(bytes.length - 4);
    if (stored != (int) crc.getValue()) {
      throw bad(where, String.format("checksum 0x%08x, computed 0x%08x", stored, (int) crc.getValue()));
    }
    int count = b.getInt(12);
    if (count < 1 || count > MAX_SLOTS) {
      throw bad(where, "has " + Integer.toUnsignedLong(count) + " slots (1-" + MAX_SLOTS + ")");
    }
    UUID uuid = new UUID(b.getLong(16), b.getLong(24));
    if (expected != null && !uuid.equals(expected)) {
      throw bad(where, "belongs to datastore " + uuid + ", expected " + expected);
    }
    b.position(HEADER_BYTES).limit(bytes.length - 4);
    List<KeySlot> slots = new ArrayList<>(count);
    Set<String> labels = new HashSet<>();
    for (int i = 0; i < count; i++) {
      if (b.remaining() < 2) {
        throw bad(where, "slot " + i + " is truncated");
      }
      int kindCode = Byte.toUnsignedInt(b.get());
      int labelBytes = Byte.toUnsignedInt(b.get());
      if (kindCode < 1 || kindCode > KeySlot.Kind.values().length) {
        throw bad(where, "slot " + i + " has unknown kind " + kindCode);
      }
      KeySlot.Kind kind = KeySlot.Kind.values()[kindCode - 1];
      if (labelBytes < 1 || labelBytes > KeySlot.MAX_LABEL_BYTES || b.remaining() < labelBytes + 12 + 16 + 12 + 48) {
        throw bad(where, "slot " + i + " is truncated or has a label of " + labelBytes + " bytes");
      }
      byte[] raw = new byte[labelBytes];
      b.get(raw);
      String label;
      try {
        label = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
        KeySlot.checkLabel(label);
      } catch (CharacterCodingException | IllegalArgumentException e) {
        throw bad(where, "slot " + i + " has a label that is not valid UTF-8 text");
      }
      if (!labels.add(label)) {
        throw bad(where, "slot label '" + label + "' appears twice");
      }
      int memory = b.getInt();
      int iterations = b.getInt();
      int parallelism = b.getInt();
      Argon2Cost cost = null;
      if (kind == KeySlot.Kind.PASSPHRASE) {
        try {
          cost = new Argon2Cost(memory, iterations, parallelism);
        } catch (IllegalArgumentException e) {
          throw bad(where, "slot '" + label + "': " + e.getMessage());
        }
      } else if ((memory | iterations | parallelism) != 0) {
        throw bad(where, "key-file slot '" + label + "' has Argon2id parameters");
      }
      byte[] salt = new byte[KeySlot.SALT_BYTES];
      byte[] nonce = new byte[KeySlot.NONCE_BYTES];
      byte[] wrapped = new byte[KeySlot.WRAPPED_BYTES];
      b.get(salt).get(nonce).get(wrapped);
      slots.add(new KeySlot(label, kind, cost, salt, nonce, wrapped));
    }
    if (b.hasRemaining()) {
      throw bad(where, "has " + b.remaining() + " bytes after its last slot");
    }
    return List.copyOf(slots);
  }

  private static CorruptDataException bad(String where, String what) {
    return new CorruptDataException("bad key slots: " + where + " " + what);
  }
}
