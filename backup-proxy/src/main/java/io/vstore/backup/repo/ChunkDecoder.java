package io.vstore.backup.repo;

import com.github.luben.zstd.ZstdDecompressCtx;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Decodes the blobs of one repository on one thread into buffers it reuses from chunk to chunk: a
 * restore decodes every chunk of a point, and a fresh plaintext (and decrypted blob) per chunk would
 * allocate twice the point's data. Not thread-safe: one per worker, closed by it.
 */
public final class ChunkDecoder implements AutoCloseable {
  private final BlobCodec codec;
  private final byte[] opened;
  private final byte[] plain;
  private final ZstdDecompressCtx zstd = new ZstdDecompressCtx();

  ChunkDecoder(BlobCodec codec) {
    this.codec = codec;
    this.opened = codec.encrypted() ? new byte[BlobCodec.maxStored(codec.maxPlain())] : null;
    this.plain = new byte[codec.maxPlain()];
  }

  /**
   * Authenticates and decompresses the blob of {@code place}, which starts at {@code at} in
   * {@code range} (a range of its pack), and returns its plaintext: a view of this decoder's buffers or
   * of {@code range}, valid until the next call (callers read it, never write to it).
   *
   * @throws CorruptObjectException naming the pack and chunk if anything does not match
   */
  public ByteBuffer decode(ChunkPlace place, byte[] range, int at) throws CorruptObjectException {
    Objects.checkFromIndexSize(at, place.storedLength(), range.length);
    if (opened != null && place.storedLength() > opened.length) {
      throw new CorruptObjectException("bad backup repository: chunk " + place.id().hex() + " in pack "
          + place.packKey() + " at " + place.offset() + ": stored length " + place.storedLength()
          + " exceeds the largest blob " + opened.length);
    }
    return codec.decode(place.id(), range, at, place.storedLength(), place.plainLength(), place.packKey(),
        place.offset(), !codec.encrypted(), opened, plain, zstd);
  }

  /** Frees the native decompression context. */
  @Override
  public void close() {
    zstd.close();
  }
}
