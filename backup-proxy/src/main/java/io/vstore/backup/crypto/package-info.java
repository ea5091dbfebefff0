/**
 * The cryptography of backup repositories, all through the JDK provider except Argon2id (Bouncy
 * Castle): AES-256-GCM sealing with random 12-byte nonces ({@link io.vstore.backup.crypto.Aead}),
 * keyed chunk ids ({@link io.vstore.backup.crypto.ChunkHasher}) and passphrase stretching
 * ({@link io.vstore.backup.crypto.Argon2Params}).
 */
package io.vstore.backup.crypto;
