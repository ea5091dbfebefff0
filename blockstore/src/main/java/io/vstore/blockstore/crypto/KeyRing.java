package io.vstore.blockstore.crypto;

import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * An encrypted datastore's data key, unlocked, and its key slots (the file {@value #FILE}): the
 * wrapped copies of the key that a passphrase or a key file opens. Adding, removing and changing
 * slots rewrites that file only (atomically: temp file, fsync, rename); the data, sealed with the
 * data key, never changes. Thread-safe: slot changes are serialized and readers see the list of
 * the last completed change.
 */
public final class KeyRing {
  /** The key-slot file's name in the datastore directory. */
  public static final String FILE = "keys";
  private static final byte[] WRAP_CONTEXT = "vstore-key-slot".getBytes(StandardCharsets.US_ASCII);

  private final Path file;
  private final UUID uuid;
  private final byte[] dataKey;
  private final String unlockedBy;
  private final RecordSealer sealer;
  /** Guarded by this for writes; replaced whole, so readers need no lock. */
  private volatile List<KeySlot> slots;

  private KeyRing(Path file, UUID uuid, byte[] dataKey, List<KeySlot> slots, String unlockedBy) {
    this.file = file;
    this.uuid = uuid;
    this.dataKey = dataKey;
    this.slots = slots;
    this.unlockedBy = unlockedBy;
    this.sealer = new RecordSealer(new SecretKeySpec(dataKey, "AES"));
  }

  /**
   * Makes a new random data key for the datastore {@code uuid} in {@code dir}, wraps it for
   * {@code source} in a slot named {@code label}, and writes the key-slot file (which must not exist).
   */
  public static KeyRing create(Path dir, UUID uuid, KeySource source, String label) throws IOException {
    Path file = dir.resolve(FILE);
    if (Files.exists(file)) {
      throw new KeyException("cannot create keys: " + file + " already exists");
    }
    byte[] key = new byte[32];
    Secrets.RANDOM.nextBytes(key);
    List<KeySlot> slots = List.of(wrap(uuid, key, source, label));
    AtomicFiles.replacePrivate(file, KeySlotFile.encode(uuid, slots));
    return new KeyRing(file, uuid, key, slots, label);
  }

  /**
   * Reads the key slots of the datastore {@code uuid} in {@code dir} and opens the data key with
   * {@code source}, trying every slot of its kind. {@code name} names the datastore in errors.
   * Throws {@link KeyException} "wrong passphrase for datastore X" (or key file) when no slot opens.
   */
  public static KeyRing unlock(Path dir, UUID uuid, KeySource source, String name) throws IOException {
    Path file = dir.resolve(FILE);
    List<KeySlot> slots = read(file, uuid);
    boolean anyOfKind = false;
    for (KeySlot s : slots) {
      if (s.kind() != source.kind()) {
        continue;
      }
      anyOfKind = true;
      byte[] key = unwrap(uuid, s, source);
      if (key != null) {
        return new KeyRing(file, uuid, key, slots, s.label());
      }
    }
    if (!anyOfKind) {
      throw new KeyException("datastore " + name + " has no " + source.kind().label() + " key slot: give "
          + (source.kind() == KeySlot.Kind.PASSPHRASE ? "--key-file" : "--passphrase-file") + " instead");
    }
    throw new KeyException(source.kind() == KeySlot.Kind.PASSPHRASE ? "wrong passphrase for datastore " + name
        + " (" + source.origin() + ")" : "wrong key file for datastore " + name + " (" + source.origin() + ")");
  }

  /** Reads and checks the slots in {@code file} (of the datastore {@code uuid}, or any when null). */
  public static List<KeySlot> read(Path file, UUID uuid) throws IOException {
    byte[] bytes;
    try {
      long size = Files.size(file);
      if (size > KeySlotFile.MAX_FILE_BYTES) {
        throw new io.vstore.blockstore.CorruptDataException("bad key slots: " + file + " is " + size
            + " bytes, larger than any key-slot file");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new io.vstore.blockstore.CorruptDataException("bad key slots: " + file
          + " is missing; the datastore cannot be decrypted without it");
    }
    return KeySlotFile.decode(bytes, uuid, file.toString());
  }

  /** Returns the slots, in file order. */
  public List<KeySlot> slots() {
    return slots;
  }

  /** Returns the label of the slot this key ring was unlocked with. */
  public String unlockedBy() {
    return unlockedBy;
  }

  /** Returns the sealer of record parts under the data key. */
  public RecordSealer sealer() {
    return sealer;
  }

  /** Adds a slot named {@code label} that {@code source} opens. */
  public synchronized void add(String label, KeySource source) throws IOException {
    List<KeySlot> now = new ArrayList<>(slots);
    if (find(now, label) >= 0) {
      throw new KeyException("key slot '" + label + "' already exists in " + file);
    }
    if (now.size() >= KeySlotFile.MAX_SLOTS) {
      throw new KeyException("datastore keys " + file + " already hold " + KeySlotFile.MAX_SLOTS + " slots");
    }
    now.add(wrap(uuid, dataKey, source, label));
    store(now);
  }

  /** Removes the slot {@code label}; the last slot cannot be removed. */
  public synchronized void remove(String label) throws IOException {
    List<KeySlot> now = new ArrayList<>(slots);
    int i = find(now, label);
    if (i < 0) {
      throw new KeyException("no key slot '" + label + "' in " + file + " (slots: " + labels(now) + ")");
    }
    if (now.size() == 1) {
      throw new KeyException("key slot '" + label + "' is the last one of " + file
          + "; add another before removing it, or the data could never be read again");
    }
    now.remove(i);
    store(now);
  }

  /** Rewraps the data key in slot {@code label} for {@code source} (a passphrase change; the slot keeps its place). */
  public synchronized void change(String label, KeySource source) throws IOException {
    List<KeySlot> now = new ArrayList<>(slots);
    int i = find(now, label);
    if (i < 0) {
      throw new KeyException("no key slot '" + label + "' in " + file + " (slots: " + labels(now) + ")");
    }
    now.set(i, wrap(uuid, dataKey, source, label));
    store(now);
  }

  private void store(List<KeySlot> now) throws IOException {
    AtomicFiles.replacePrivate(file, KeySlotFile.encode(uuid, now));
    slots = List.copyOf(now);
  }

  private static int find(List<KeySlot> list, String label) {
    for (int i = 0; i < list.size(); i++) {
      if (list.get(i).label().equals(label)) {
        return i;
      }
    }
    return -1;
  }

  private static String labels(List<KeySlot> list) {
    return String.join(", ", list.stream().map(KeySlot::label).toList());
  }

  /** Returns the key-encryption key of {@code source} for a slot with {@code salt}. */
  private static byte[] kek(KeySource source, Argon2Cost cost, byte[] salt) {
    return switch (source) {
      case KeySource.Passphrase p -> cost.derive(p.secret(), salt);
      case KeySource.KeyFile k -> k.key().clone();
    };
  }

  private static byte[] aad(UUID uuid, KeySlot.Kind kind, String label) {
    byte[] l = label.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(WRAP_CONTEXT.length + 17 + l.length).order(ByteOrder.LITTLE_ENDIAN).put(WRAP_CONTEXT)
        .putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits()).put((byte) kind.code()).put(l)
        .array();
  }

  private static KeySlot wrap(UUID uuid, byte[] dataKey, KeySource source, String label) {
    KeySlot.checkLabel(label);
    Argon2Cost cost = source instanceof KeySource.Passphrase p ? p.cost() : null;
    byte[] salt = new byte[KeySlot.SALT_BYTES];
    if (cost != null) {
      Secrets.RANDOM.nextBytes(salt);
    }
    byte[] nonce = new byte[KeySlot.NONCE_BYTES];
    Secrets.RANDOM.nextBytes(nonce);
    byte[] kek = kek(source, cost, salt);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(kek, "AES"), new GCMParameterSpec(128, nonce));
      c.updateAAD(aad(uuid, source.kind(), label));
      return new KeySlot(label, source.kind(), cost, salt, nonce, c.doFinal(dataKey));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available", e);
    } finally {
      Arrays.fill(kek, (byte) 0);
    }
  }

  /** Returns the data key {@code slot} holds when {@code source} opens it, else null. */
  private static byte[] unwrap(UUID uuid, KeySlot slot, KeySource source) {
    byte[] kek = kek(source, slot.cost(), slot.salt());
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(kek, "AES"), new GCMParameterSpec(128, slot.nonce()));
      c.updateAAD(aad(uuid, slot.kind(), slot.label()));
      return c.doFinal(slot.wrapped());
    } catch (AEADBadTagException e) {
      return null;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available", e);
    } finally {
      Arrays.fill(kek, (byte) 0);
    }
  }
}
