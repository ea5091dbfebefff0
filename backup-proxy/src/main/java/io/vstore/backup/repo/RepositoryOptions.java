package io.vstore.backup.repo;

import io.vstore.backup.crypto.Argon2Params;
import java.util.Objects;

/**
 * Choices made when a repository is created, and the passphrase cost of keys made through it.
 *
 * @param chunkSize bytes per chunk, a power of two from 16 KiB to 4 MiB (fixed for the repository)
 * @param compression how new chunks are compressed
 * @param argon2 the cost of stretching a passphrase into a key
 * @param packTargetBytes a pack is sealed once it holds this many bytes (16 MiB; tests use less)
 */
public record RepositoryOptions(int chunkSize, Compression compression, Argon2Params argon2, int packTargetBytes) {
  /** Smallest chunk size. */
  public static final int MIN_CHUNK = 16 * 1024;
  /** Largest chunk size. */
  public static final int MAX_CHUNK = 4 * 1024 * 1024;
  /** The default chunk size: a 4 KiB guest write costs one 64 KiB chunk, not 4 MiB. */
  public static final int DEFAULT_CHUNK = 64 * 1024;
  /** The default pack size: few objects per TiB, and at least S3's efficient object size. */
  public static final int DEFAULT_PACK = 16 * 1024 * 1024;

  public RepositoryOptions {
    checkChunkSize(chunkSize);
    Objects.requireNonNull(compression, "compression");
    Objects.requireNonNull(argon2, "argon2");
    if (packTargetBytes < 1024 || packTargetBytes > 256 * 1024 * 1024) {
      throw new IllegalArgumentException("pack target " + packTargetBytes + " out of range 1 KiB..256 MiB");
    }
  }

  /** Returns the defaults: 64 KiB chunks, zstd, {@link Argon2Params#DEFAULT}, 16 MiB packs. */
  public static RepositoryOptions defaults() {
    return new RepositoryOptions(DEFAULT_CHUNK, Compression.ZSTD, Argon2Params.DEFAULT, DEFAULT_PACK);
  }

  /** Returns these options with another chunk size. */
  public RepositoryOptions withChunkSize(int size) {
    return new RepositoryOptions(size, compression, argon2, packTargetBytes);
  }

  /** Returns these options with another compression. */
  public RepositoryOptions withCompression(Compression c) {
    return new RepositoryOptions(chunkSize, c, argon2, packTargetBytes);
  }

  /** Returns these options with another passphrase cost. */
  public RepositoryOptions withArgon2(Argon2Params p) {
    return new RepositoryOptions(chunkSize, compression, p, packTargetBytes);
  }

  /** Returns these options with another pack size. */
  public RepositoryOptions withPackTargetBytes(int bytes) {
    return new RepositoryOptions(chunkSize, compression, argon2, bytes);
  }

  static void checkChunkSize(int chunkSize) {
    if (chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK || Integer.bitCount(chunkSize) != 1) {
      throw new IllegalArgumentException("chunk size " + chunkSize + " is not a power of two from 16 KiB to 4 MiB");
    }
  }
}
