package io.vstore.backup.repo;

/**
 * What a {@link ChunkSink} added.
 *
 * @param chunks new chunks stored
 * @param plainBytes their plaintext bytes
 * @param storedBytes their bytes in packs (compressed, sealed)
 * @param duplicateChunks chunks offered that the repository already had
 */
public record SinkStats(long chunks, long plainBytes, long storedBytes, long duplicateChunks) {}
