package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Encodes blocks into records (chunked, LZ4 when it pays, CRC32C per chunk) and reads blocks
 * back out of them, verifying every checksum it passes.
 */
final class RecordCodec {
  private static final LZ4Factory LZ4 = LZ4Factory.fastestInstance();
  private static final LZ4Compressor COMPRESSOR = LZ4.fastCompressor();
  private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4.safeDecompressor();
  /** Compression must save at least 1/16 of a chunk to be worth a decompression on every read. */
  private static final int MIN_SAVING_DIVISOR = 16;
  static final int MAX_RECORD_BYTES = RecordHeader.MAX_HEADER_BYTES
      + RecordHeader.MAX_CHUNKS * COMPRESSOR.maxCompressedLength(RecordHeader.CHUNK_BYTES);

  /** Direct buffers of {@link #MAX_RECORD_BYTES}, reused so the write path does not allocate. */
  private static final ArrayBlockingQueue<ByteBuffer> BUFFERS = new ArrayBlockingQueue<>(16);

  private RecordCodec() {}

  /** Borrows a direct buffer of at least {@link #MAX_RECORD_BYTES}. */
  static ByteBuffer borrow() {
    ByteBuffer b = BUFFERS.poll();
    return b != null ? b.clear() : ByteBuffer.allocateDirect(MAX_RECORD_BYTES);
  }

  /** Returns a buffer from {@link #borrow}. */
  static void giveBack(ByteBuffer b) {
    BUFFERS.offer(b);
  }

  /**
   * Encodes the {@code blocks} 4 KiB blocks at {@code src}'s position into {@code out} from
   * position 0, and flips {@code out} for writing.
   */
  static void encode(ByteBuffer src, int blocks, long volume, long firstBlock, long generation, ByteBuffer out) {
    int chunks = RecordHeader.chunksFor(blocks);
    int[] lengths = new int[chunks];
    boolean[] compressed = new boolean[chunks];
    int[] crcs = new int[chunks];
    int headerBytes = RecordHeader.FIXED_BYTES + 8 * chunks;
    int pos = headerBytes;
    CRC32C crc = new CRC32C();
    for (int i = 0; i < chunks; i++) {
      int raw = Math.min(RecordHeader.CHUNK_BLOCKS, blocks - i * RecordHeader.CHUNK_BLOCKS) * RecordHeader.BLOCK;
      int srcOff = src.position() + i * RecordHeader.CHUNK_BYTES;
      int n = COMPRESSOR.compress(src, srcOff, raw, out, pos, out.capacity() - pos);
      if (n <= raw - raw / MIN_SAVING_DIVISOR) {
        compressed[i] = true;
      } else {
        out.put(pos, src, srcOff, raw);
        n = raw;
      }
      crc.reset();
      crc.update(out.duplicate().position(pos).limit(pos + n));
      crcs[i] = (int) crc.getValue();
      lengths[i] = n;
      pos += n;
    }
    out.clear();
    new RecordHeader(volume, firstBlock, blocks, generation, lengths, compressed, crcs).write(out);
    out.position(0).limit(pos);
  }

  /** Reads and validates the header of the record at {@code key}. */
  static RecordHeader readHeader(SegmentFiles segments, RecordKey key) throws IOException {
    ByteBuffer head = ByteBuffer.allocate(RecordHeader.MAX_HEADER_BYTES);
    segments.readSome(key.segment(), key.offset(), head);
    head.flip();
    return RecordHeader.read(head, describe(segments, key));
  }

  private static String describe(SegmentFiles segments, RecordKey key) {
    return "record at offset " + key.offset() + " of " + segments.path(key.segment());
  }

  /**
   * Copies {@code count} blocks starting at record block {@code first} into {@code dst}
   * (advancing it by {@code count * 4096}).
   */
  static void readBlocks(SegmentFiles segments, RecordKey key, RecordHeader header, int first, int count, ByteBuffer dst)
      throws IOException {
    if (first < 0 || count < 0 || first + count > header.blocks()) {
      throw new CorruptDataException("bad map: blocks " + first + ".." + (first + count) + " of " + describe(segments, key)
          + " which holds " + header.blocks());
    }
    int block = first;
    int end = first + count;
    ByteBuffer chunk = null;
    while (block < end) {
      int c = block / RecordHeader.CHUNK_BLOCKS;
      int inChunk = block % RecordHeader.CHUNK_BLOCKS;
      int take = Math.min(end - block, Math.min(RecordHeader.CHUNK_BLOCKS, header.blocks() - c * RecordHeader.CHUNK_BLOCKS) - inChunk);
      int stored = header.chunkLengths()[c];
      if (chunk == null) {
        chunk = ByteBuffer.allocate(RecordHeader.CHUNK_BYTES + RecordHeader.CHUNK_BYTES / 255 + 16);
      }
      chunk.clear().limit(stored);
      segments.read(key.segment(), key.offset() + header.chunkOffset(c), chunk);
      chunk.flip();
      CRC32C crc = new CRC32C();
      crc.update(chunk.duplicate());
      if ((int) crc.getValue() != header.chunkCrcs()[c]) {
        throw new CorruptDataException(String.format("bad record: %s chunk %d checksum 0x%08x, computed 0x%08x",
            describe(segments, key), c, header.chunkCrcs()[c], (int) crc.getValue()));
      }
      int bytes = take * RecordHeader.BLOCK;
      if (header.compressed()[c]) {
        int raw = header.chunkRawBytes(c);
        if (inChunk == 0 && take * RecordHeader.BLOCK == raw) {
          decompress(chunk, dst, raw, segments, key, c);
        } else {
          ByteBuffer plain = ByteBuffer.allocate(raw);
          decompress(chunk, plain, raw, segments, key, c);
          dst.put(plain.array(), inChunk * RecordHeader.BLOCK, bytes);
        }
      } else {
        dst.put(chunk.array(), inChunk * RecordHeader.BLOCK, bytes);
      }
      block += take;
    }
  }

  private static void decompress(ByteBuffer src, ByteBuffer dst, int raw, SegmentFiles segments, RecordKey key, int c)
      throws CorruptDataException {
    try {
      int n = DECOMPRESSOR.decompress(src, src.position(), src.remaining(), dst, dst.position(), raw);
      if (n != raw) {
        throw new CorruptDataException("bad record: " + describe(segments, key) + " chunk " + c + " inflates to " + n
            + " bytes, expected " + raw);
      }
      dst.position(dst.position() + raw);
    } catch (LZ4Exception e) {
      throw new CorruptDataException("bad record: " + describe(segments, key) + " chunk " + c + " does not decompress", e);
    }
  }
}
