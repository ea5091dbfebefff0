/**
 * Encryption at rest of a datastore: the data key and the key slots that wrap it
 * ({@link io.vstore.blockstore.crypto.KeyRing}, file {@code keys}), what unlocks a slot
 * ({@link io.vstore.blockstore.crypto.KeySource}: a passphrase through Argon2id, or a key file's
 * 256-bit key), and the AES-256-GCM sealing of record parts
 * ({@link io.vstore.blockstore.crypto.RecordSealer}; {@link io.vstore.blockstore.crypto.PartBatch}
 * opens the many parts of a large read on every core). The record layout that carries nonces and
 * tags belongs to {@code io.vstore.blockstore.store}; this package knows nothing of it.
 */
package io.vstore.blockstore.crypto;
