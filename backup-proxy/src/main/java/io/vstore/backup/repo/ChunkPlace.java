package io.vstore.backup.repo;

/**
 * Where a stored chunk lies: the pack object that holds its blob, the blob's offset and stored
 * length in it, and the chunk's plaintext length. Readers that restore many chunks sort these by
 * pack and offset to fetch each pack's blobs in a few large reads instead of one read per chunk.
 *
 * @param id the chunk
 * @param packKey the key of the pack object in the repository's store
 * @param offset the blob's byte offset in the pack
 * @param storedLength the blob's length in the pack (compressed, sealed)
 * @param plainLength the chunk's plaintext length
 */
public record ChunkPlace(ChunkId id, String packKey, long offset, int storedLength, int plainLength) {
  /** Returns the offset just past the blob. */
  public long end() {
    return offset + storedLength;
  }
}
