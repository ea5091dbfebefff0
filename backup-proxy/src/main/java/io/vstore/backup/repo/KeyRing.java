package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.backup.crypto.Argon2Params;
import io.vstore.backup.store.NoSuchObjectException;
import io.vstore.backup.store.ObjectInfo;
import io.vstore.backup.store.ObjectStore;
import io.vstore.blockstore.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import javax.crypto.AEADBadTagException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The keys of an encrypted repository: each a copy of the one master key, wrapped by a key derived
 * from a passphrase (Argon2id) or a key file. Adding or removing a key never re-encrypts data.
 */
public final class KeyRing {
  static final String PREFIX = "keys/";

  private final Repository repo;
  private final byte[] master;

  KeyRing(Repository repo, byte[] master) {
    this.repo = repo;
    this.master = master;
  }

  /** Returns the keys, oldest first. */
  public List<KeyInfo> list() throws IOException {
    List<String> ids = keyIds(repo.store());
    List<KeyInfo> out = new ArrayList<>();
    for (String id : ids) {
      try {
        out.add(KeyObject.read(repo.store().get(PREFIX + id), PREFIX + id).info(id));
      } catch (NoSuchObjectException e) {
        // Removed by another process since the listing.
      }
    }
    out.sort(Comparator.comparing(KeyInfo::created).thenComparing(KeyInfo::id));
    return out;
  }

  /** Adds a key with the default passphrase cost and returns it. */
  public KeyInfo add(KeySource key, String label) throws IOException {
    return add(key, label, repo.argon2());
  }

  /** Adds a key whose passphrase (if it is one) is stretched with {@code argon2}, and returns it. */
  public KeyInfo add(KeySource key, String label, Argon2Params argon2) throws IOException {
    if (master == null) {
      throw new IllegalStateException("repository " + repo.store() + " is not encrypted: it has no keys");
    }
    return store(repo.store(), wrap(key, label, argon2, repo.repoIdBytes(), master));
  }

  /**
   * Removes key {@code keyId}.
   *
   * @throws IllegalStateException if it is the last key (the repository could never be opened again)
   * @throws NoSuchObjectException if there is no such key
   */
  public void remove(String keyId) throws IOException {
    List<String> ids = keyIds(repo.store());
    if (!ids.contains(keyId)) {
      throw new NoSuchObjectException("no key " + keyId + " in repository " + repo.store());
    }
    if (ids.size() == 1) {
      throw new IllegalStateException("key " + keyId + " is the last key of repository " + repo.store()
          + "; add another key before removing it");
    }
    repo.store().delete(PREFIX + keyId);
  }

  static KeyInfo store(ObjectStore store, KeyObject key) throws IOException {
    while (true) {
      String id = Hex.of(Aead.randomBytes(8));
      if (store.putIfAbsent(PREFIX + id, ByteBuffer.wrap(key.write(PREFIX + id)))) {
        return key.info(id);
      }
    }
  }

  static List<String> keyIds(ObjectStore store) throws IOException {
    List<String> ids = new ArrayList<>();
    store.list(PREFIX, (ObjectInfo o) -> {
      String id = o.key().substring(PREFIX.length());
      if (Hex.isHex(id, 16)) {
        ids.add(id);
      }
    });
    ids.sort(null);
    return ids;
  }

  static KeyObject wrap(KeySource source, String label, Argon2Params argon2, byte[] repoId, byte[] master) {
    byte[] salt = Aead.randomBytes(16);
    boolean passphrase = source instanceof KeySource.Passphrase;
    KeyObject draft = new KeyObject(passphrase ? KeyObject.PASSPHRASE : KeyObject.KEY_FILE,
        passphrase ? argon2 : null, salt, System.currentTimeMillis(), label == null ? "" : label, null);
    byte[] kek = derive(draft, source);
    try {
      byte[] wrapped = new Aead(kek).seal(master, 0, master.length, repoId);
      return new KeyObject(draft.kind(), draft.argon2(), salt, draft.createdMillis(), draft.label(), wrapped);
    } finally {
      Arrays.fill(kek, (byte) 0);
    }
  }

  /** Returns the master key if {@code source} opens {@code key}, else null (wrong key or another kind). */
  static byte[] unwrap(KeyObject key, KeySource source, byte[] repoId) {
    boolean passphrase = source instanceof KeySource.Passphrase;
    if (passphrase != (key.kind() == KeyObject.PASSPHRASE)) {
      return null;
    }
    byte[] kek = derive(key, source);
    try {
      return new Aead(kek).open(key.wrapped(), 0, key.wrapped().length, repoId);
    } catch (AEADBadTagException e) {
      return null;
    } finally {
      Arrays.fill(kek, (byte) 0);
    }
  }

  private static byte[] derive(KeyObject key, KeySource source) {
    return switch (source) {
      case KeySource.Passphrase p -> KekCache.derive(key.argon2(), key.salt(), p.value());
      case KeySource.KeyFile f -> {
        // A key file is already uniformly random: a keyed hash with the salt suffices, no stretching.
        try {
          Mac mac = Mac.getInstance("HmacSHA256");
          mac.init(new SecretKeySpec(f.contents(), "HmacSHA256"));
          mac.update("vstore backup key file".getBytes(StandardCharsets.US_ASCII));
          yield mac.doFinal(key.salt());
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException("the JDK has no HmacSHA256", e);
        }
      }
    };
  }

  /**
   * Returns the master key of the repository whose config is {@code config}, unwrapped with
   * {@code key} from the first key object it opens.
   *
   * @throws WrongKeyException if the key opens none of them
   */
  static byte[] unlock(ObjectStore store, ConfigObject config, KeySource key) throws IOException {
    CorruptObjectException damaged = null;
    for (String id : keyIds(store)) {
      KeyObject k;
      try {
        k = KeyObject.read(store.get(PREFIX + id), PREFIX + id);
      } catch (CorruptObjectException | UnsupportedFormatException e) {
        damaged = damaged == null ? new CorruptObjectException(e.getMessage(), e) : damaged;
        continue;
      } catch (NoSuchObjectException e) {
        continue;
      }
      byte[] master = unwrap(k, key, config.repoId());
      if (master == null) {
        continue;
      }
      // The config's sealed chunk-id key proves this master key belongs to this repository.
      try {
        byte[] chunkKey = new Aead(Arrays.copyOfRange(master, 0, 32))
            .open(config.chunkKeyField(), 0, config.chunkKeyField().length, config.repoId());
        if (MessageDigest.isEqual(chunkKey, Arrays.copyOfRange(master, 32, 64))) {
          return master;
        }
      } catch (AEADBadTagException e) {
        // Wrapped for this repository id, but not this repository's master key: keep looking.
      }
    }
    if (damaged != null) {
      throw new WrongKeyException("wrong passphrase or key for repository " + store + " (and a key object is damaged: "
          + damaged.getMessage() + ")");
    }
    throw new WrongKeyException("wrong passphrase or key for repository " + store);
  }
}
