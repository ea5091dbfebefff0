package io.vstore.blockstore.store;

import io.vstore.blockstore.crypto.KeyException;
import io.vstore.blockstore.crypto.KeyRing;
import io.vstore.blockstore.crypto.KeySource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.UUID;

/**
 * A datastore directory made ready for {@link Datastore} to open its parts: checked, locked, its
 * descriptor read or written, and, for one just created encrypted, its new key ring. Also unlocks
 * the key ring of an existing encrypted datastore.
 *
 * @param lock the held lock of the directory
 * @param descriptor its descriptor
 * @param created the key ring of a datastore just created encrypted; null otherwise
 */
record DatastoreDirectory(DatastoreLock lock, DatastoreDescriptor descriptor, KeyRing created) {

  /**
   * Creates a datastore in {@code dir}, which must not exist or be empty; when {@code encrypted},
   * with a new random data key wrapped in a first key slot for {@code options.keys()}.
   */
  static DatastoreDirectory create(Path dir, DatastoreOptions options, long capacityBytes, boolean encrypted)
      throws IOException {
    if (encrypted && options.keys() == null) {
      throw new KeyException("an encrypted datastore needs a key: give --passphrase-file FILE or --key-file FILE");
    }
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new DatastoreException("cannot create datastore: " + dir + " is a file");
    }
    if (Files.isDirectory(dir)) {
      try (var entries = Files.list(dir)) {
        if (entries.findAny().isPresent()) {
          throw new DatastoreException("cannot create datastore: " + dir + " is not empty"
              + (Files.exists(dir.resolve(DatastoreDescriptor.FILE)) ? " (it already is a datastore)" : ""));
        }
      }
    }
    if (capacityBytes < 0) {
      throw new IllegalArgumentException("capacity " + capacityBytes + " is negative");
    }
    Files.createDirectories(dir);
    DatastoreLock lock = DatastoreLock.acquire(dir);
    DatastoreDescriptor d = new DatastoreDescriptor(DatastoreDescriptor.FORMAT,
        encrypted ? DatastoreDescriptor.ENCRYPTED_VERSION : DatastoreDescriptor.VERSION, UUID.randomUUID(),
        Instant.now().toString(), capacityBytes, 75, 90, encrypted ? DatastoreDescriptor.AES_256_GCM : null);
    KeyRing ring = null;
    try {
      // The keys first: a descriptor saying "encrypted" must never exist without them.
      if (encrypted) {
        ring = KeyRing.create(dir, d.uuid(), options.keys(), options.keys().kind().label());
      }
      d.write(dir);
    } catch (IOException | RuntimeException e) {
      lock.close();
      throw e;
    }
    return new DatastoreDirectory(lock, d, ring);
  }

  /** Locks the existing datastore in {@code dir} and reads its descriptor. */
  static DatastoreDirectory open(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      throw new DatastoreException("no datastore at " + dir + " (create one with 'vstore datastore init')");
    }
    if (!Files.isDirectory(dir)) {
      throw new DatastoreException("not a datastore: " + dir + " is a file");
    }
    if (!Files.exists(dir.resolve(DatastoreDescriptor.FILE))) {
      throw new DatastoreException("not a datastore: " + dir + " has no " + DatastoreDescriptor.FILE);
    }
    DatastoreLock lock = DatastoreLock.acquire(dir);
    DatastoreDescriptor d;
    try {
      d = DatastoreDescriptor.read(dir);
    } catch (IOException e) {
      lock.close();
      throw e;
    }
    return new DatastoreDirectory(lock, d, null);
  }

  /** Returns the unlocked key ring of an encrypted datastore, null for a plain one. */
  static KeyRing unlock(Path dir, DatastoreDescriptor d, KeySource source) throws IOException {
    if (!d.encrypted()) {
      return null;
    }
    if (source == null) {
      throw new KeyException("datastore " + dir + " is encrypted: give --passphrase-file FILE or --key-file FILE"
          + " (or set VSTORE_PASSPHRASE_FILE or VSTORE_KEY_FILE)");
    }
    return KeyRing.unlock(dir, d.uuid(), source, dir.toString());
  }
}
