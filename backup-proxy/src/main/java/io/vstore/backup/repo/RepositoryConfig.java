package io.vstore.backup.repo;

import java.time.Instant;

/**
 * What a repository's {@code config} object says about it.
 *
 * @param id random 16 bytes as 32 hex digits, names the repository
 * @param chunkSize bytes per chunk
 * @param compression how new chunks are compressed
 * @param encrypted whether data and metadata are sealed with AES-256-GCM
 * @param pageChunks chunk ids per page of a point's chunk map
 * @param created when the repository was initialised
 */
public record RepositoryConfig(String id, int chunkSize, Compression compression, boolean encrypted, int pageChunks,
    Instant created) {}
