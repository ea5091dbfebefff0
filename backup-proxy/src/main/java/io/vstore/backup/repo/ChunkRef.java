package io.vstore.backup.repo;

/**
 * One chunk of a point: where it is in the volume, which chunk, and how many bytes.
 *
 * @param chunkIndex index in the volume (byte offset = index * chunk size)
 * @param id the chunk's id
 * @param plainLength its bytes (the chunk size except for the last chunk of a volume)
 */
public record ChunkRef(long chunkIndex, ChunkId id, int plainLength) {}
