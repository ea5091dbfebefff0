package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.crypto.PartBatch;
import io.vstore.blockstore.crypto.RecordSealer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Encodes blocks into records (chunked, LZ4 when it pays, CRC32C per compressed chunk and per
 * stored block) and reads blocks back out of them, verifying every checksum it passes.
 */
final class RecordCodec {
  private static final LZ4Factory LZ4 = LZ4Factory.fastestInstance();
  private static final LZ4Compressor COMPRESSOR = LZ4.fastCompressor();
  private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4.safeDecompressor();
  /** Compression must save at least 1/16 of a chunk to be worth a decompression on every read. */
  private static final int MIN_SAVING_DIVISOR = 16;
  /** How much of a chunk is compressed first to judge the whole. */
  private static final int PROBE_BYTES = 4096;
  /**
   * A probe must save an eighth (ZFS's bar for keeping compressed data): data that barely
   * compresses (fio's scrambled buffers save a few percent) cost 45% of the CPU of 1 MiB writes
   * over NBD for 4% less space.
   */
  private static final int PROBE_SAVING_DIVISOR = 8;
  /** The largest record, sealed or not; sealing needs one tag's room after the last part. */
  static final int MAX_RECORD_BYTES = RecordHeader.SEALED_MAX_HEADER_BYTES
      + RecordHeader.MAX_CHUNKS * COMPRESSOR.maxCompressedLength(RecordHeader.CHUNK_BYTES) + RecordSealer.TAG_BYTES;

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
   * position 0, and flips {@code out} for writing; with {@code tryCompress} false every chunk is
   * stored as is. Returns how many chunks compression shrank.
   */
  static int encode(ByteBuffer src, int blocks, long volume, long firstBlock, long generation, ByteBuffer out,
      boolean tryCompress) {
    return encode(src, blocks, volume, firstBlock, generation, out, tryCompress, null);
  }

  /**
   * Encodes as {@link #encode(ByteBuffer, int, long, long, long, ByteBuffer, boolean)} does; with a
   * {@code sealer}, the record is sealed (version 2): every part encrypted, its tag in the header.
   */
  static int encode(ByteBuffer src, int blocks, long volume, long firstBlock, long generation, ByteBuffer out,
      boolean tryCompress, RecordSealer sealer) {
    boolean sealed = sealer != null;
    int chunks = RecordHeader.chunksFor(blocks);
    int[] lengths = new int[chunks];
    boolean[] compressed = new boolean[chunks];
    int[] crcs = new int[chunks];
    // Compress into place after a worst-case header; the header is written once its size is known.
    int maxHeader = sealed ? RecordHeader.SEALED_FIXED_BYTES + 8 * chunks + RecordHeader.TAG_BYTES * blocks
        : RecordHeader.FIXED_BYTES + 8 * chunks + 4 * blocks;
    int pos = maxHeader;
    int storedBlocks = 0;
    int shrunk = 0;
    CRC32C crc = new CRC32C();
    for (int i = 0; i < chunks; i++) {
      int raw = RecordHeader.blocksIn(blocks, i) * RecordHeader.BLOCK;
      int srcOff = src.position() + i * RecordHeader.CHUNK_BYTES;
      int n = tryCompress && worthCompressing(src, srcOff, raw, out, pos)
          ? COMPRESSOR.compress(src, srcOff, raw, out, pos, out.capacity() - pos) : raw;
      if (tryCompress && n <= raw - raw / MIN_SAVING_DIVISOR) {
        compressed[i] = true;
        shrunk++;
      } else {
        if (!sealed) { // a sealed record's stored chunks are encrypted straight from src below
          out.put(pos, src, srcOff, raw);
        }
        n = raw;
        storedBlocks += RecordHeader.blocksIn(blocks, i);
      }
      if (compressed[i] && !sealed) {
        // A stored chunk's blocks carry their own checksums below; one pass over them is enough.
        crc.reset();
        crc.update(out.duplicate().position(pos).limit(pos + n));
        crcs[i] = (int) crc.getValue();
      }
      lengths[i] = n;
      pos += n;
    }
    RecordHeader header = sealed
        ? seal(src, blocks, volume, firstBlock, generation, out, maxHeader, lengths, compressed, crcs, sealer)
        : new RecordHeader(volume, firstBlock, blocks, generation, lengths, compressed, crcs,
            blockCrcs(src, blocks, compressed, storedBlocks));
    int headerBytes = header.headerBytes();
    if (headerBytes < maxHeader) {
      out.put(headerBytes, out, maxHeader, pos - maxHeader); // close the gap left for the worst case
    }
    out.clear();
    header.write(out);
    out.position(0).limit(headerBytes + pos - maxHeader);
    return shrunk;
  }

  /**
   * Seals the parts of a record in order: compressed chunks in place in {@code out}, stored blocks
   * from {@code src} into {@code out} (the one copy they would get anyway); returns the header.
   */
  private static RecordHeader seal(ByteBuffer src, int blocks, long volume, long firstBlock, long generation,
      ByteBuffer out, int payloadAt, int[] lengths, boolean[] compressed, int[] crcs, RecordSealer sealer) {
    int parts = RecordHeader.partsOf(blocks, compressed);
    byte[] nonce = new byte[RecordSealer.NONCE_BYTES];
    sealer.reserve(parts, nonce, 0);
    byte[] tags = new byte[RecordSealer.TAG_BYTES * parts];
    int pos = payloadAt;
    int part = 0;
    for (int i = 0; i < lengths.length; i++) {
      long chunkBlock = firstBlock + (long) i * RecordHeader.CHUNK_BLOCKS;
      if (compressed[i]) {
        ByteBuffer chunk = out.duplicate().limit(pos + lengths[i]).position(pos);
        sealer.seal(chunk, out.duplicate().position(pos), nonce, 0, part, volume, chunkBlock, generation, tags,
            RecordSealer.TAG_BYTES * part);
        part++;
      } else {
        int srcOff = src.position() + i * RecordHeader.CHUNK_BYTES;
        for (int k = 0; k < RecordHeader.blocksIn(blocks, i); k++) {
          int at = srcOff + k * RecordHeader.BLOCK;
          sealer.seal(src.duplicate().limit(at + RecordHeader.BLOCK).position(at),
              out.duplicate().position(pos + k * RecordHeader.BLOCK), nonce, 0, part, volume, chunkBlock + k, generation,
              tags, RecordSealer.TAG_BYTES * part);
          part++;
        }
      }
      pos += lengths[i];
    }
    return new RecordHeader(volume, firstBlock, blocks, generation, lengths, compressed, new int[lengths.length],
        new int[0], nonce, tags);
  }

  /** Returns the CRC32C of every block of the stored chunks of a plain record, in order. */
  private static int[] blockCrcs(ByteBuffer src, int blocks, boolean[] compressed, int storedBlocks) {
    CRC32C crc = new CRC32C();
    int chunks = compressed.length;
    int[] blockCrcs = new int[storedBlocks];
    int b = 0;
    for (int i = 0; i < chunks; i++) {
      if (compressed[i]) {
        continue;
      }
      int srcOff = src.position() + i * RecordHeader.CHUNK_BYTES;
      for (int k = 0; k < RecordHeader.blocksIn(blocks, i); k++) {
        crc.reset();
        crc.update(src.duplicate().position(srcOff + k * RecordHeader.BLOCK).limit(srcOff + (k + 1) * RecordHeader.BLOCK));
        blockCrcs[b++] = (int) crc.getValue();
      }
    }
    return blockCrcs;
  }

  /** Reads and validates the header of the record at {@code key}, or returns it from the cache. */
  static RecordHeader readHeader(SegmentFiles segments, RecordKey key) throws IOException {
    RecordHeader cached = segments.cachedHeader(key);
    if (cached != null) {
      return cached;
    }
    ByteBuffer head = ByteBuffer.allocate(segments.maxHeaderBytes());
    segments.readSome(key.segment(), key.offset(), head);
    head.flip();
    RecordHeader header = RecordHeader.read(head, () -> describe(segments, key));
    segments.cacheHeader(key, header);
    return header;
  }

  /** Reads of at most this many blocks fetch an uncached header together with the data. */
  static final int COMBINED_READ_BLOCKS = 4;
  private static final int PAGE = 4096;
  /** The largest {@link #combinedSpan}: a sealed header's worst case, {@link #COMBINED_READ_BLOCKS} blocks, a page's rounding. */
  private static final int MAX_COMBINED_SPAN = RecordHeader.SEALED_MAX_HEADER_BYTES
      + COMBINED_READ_BLOCKS * RecordHeader.BLOCK + PAGE;
  /**
   * Buffers for combined reads through {@link #readBlocks}, reused: direct, so the file read lands
   * in them without the copy a heap buffer costs, and not allocated on every read. A pool, not a
   * thread-local: the daemon serves HTTP requests on a new virtual thread each.
   */
  private static final ArrayBlockingQueue<ByteBuffer> SPANS = new ArrayBlockingQueue<>(64);
  /** The largest compressed chunk, and so the largest buffer a chunk's read or inflation needs. */
  private static final int MAX_CHUNK_BYTES = COMPRESSOR.maxCompressedLength(RecordHeader.CHUNK_BYTES);
  /**
   * Buffers for compressed chunks and their partial inflation, reused: allocating 64 KiB per read
   * of a compressed chunk was 9% of a volume move's CPU samples. Direct, so the file read needs no
   * temporary copy.
   */
  private static final ArrayBlockingQueue<ByteBuffer> CHUNKS = new ArrayBlockingQueue<>(64);

  private static ByteBuffer borrowChunk(int bytes) {
    ByteBuffer b = CHUNKS.poll();
    return (b != null ? b : ByteBuffer.allocateDirect(MAX_CHUNK_BYTES)).clear().limit(bytes);
  }

  /**
   * Returns the bytes a combined read of the header and blocks {@code [0, endBlock)} of the record
   * at file offset {@code offset} fetches: enough for any header, and for those blocks of a record
   * holding just them, stored (its header is then the smallest there is), rounded up to the end of
   * that page. The file is read in whole pages anyway, so the rounding costs nothing, and stopping
   * there saves a page: with a fixed span of the largest header (1,200 bytes) plus the blocks, 29%
   * of single-block reads brought a third page from the disk. A larger record with a larger header
   * usually still fits in the rounding; when not, {@link #fromSpan} reads what is missing.
   */
  static int combinedSpan(SegmentFiles segments, long offset, int endBlock) {
    boolean sealed = segments.sealer() != null;
    int least = (sealed ? RecordHeader.SEALED_FIXED_BYTES + 8 + RecordHeader.TAG_BYTES * endBlock
        : RecordHeader.FIXED_BYTES + 8 + 4 * endBlock) + endBlock * RecordHeader.BLOCK;
    long end = offset + Math.max(segments.maxHeaderBytes(), least);
    return (int) (Math.ceilDiv(end, PAGE) * PAGE - offset);
  }

  /**
   * Copies {@code count} blocks starting at record block {@code first} of the record at {@code key}
   * into {@code dst}. When the header is not cached and the blocks are near the record's start,
   * header and blocks come in one read: a random 4 KiB read then costs one device read, not two.
   */
  static void readBlocks(SegmentFiles segments, RecordKey key, long owner, long base, int first, int count, ByteBuffer dst)
      throws IOException {
    readBlocks(segments, key, owner, base, first, count, dst, null);
  }

  /**
   * Reads as {@link #readBlocks(SegmentFiles, RecordKey, long, long, int, int, ByteBuffer)} does;
   * with a {@code batch}, the sealed stored blocks are left in {@code dst} as ciphertext and added
   * to it, to be opened with the rest of a large read by {@link #openAll}.
   */
  static void readBlocks(SegmentFiles segments, RecordKey key, long owner, long base, int first, int count, ByteBuffer dst,
      PartBatch batch) throws IOException {
    RecordHeader cached = segments.cachedHeader(key);
    if (cached != null || first + count > COMBINED_READ_BLOCKS) {
      readBlocks(segments, key, cached != null ? cached : readHeader(segments, key), owner, base, first, count, dst, batch);
      return;
    }
    ByteBuffer span = SPANS.poll();
    if (span == null) {
      span = ByteBuffer.allocateDirect(MAX_COMBINED_SPAN);
    }
    try {
      span.clear().limit(combinedSpan(segments, key.offset(), first + count));
      segments.readSome(key.segment(), key.offset(), span);
      fromSpan(segments, key, owner, base, span.flip(), first, count, dst, batch);
    } finally {
      SPANS.offer(span); // nothing keeps a reference to it: headers are parsed into arrays, blocks copied out
    }
  }

  /**
   * Opens every part of {@code batch} (on every core when it is large); throws for the first that
   * fails, naming its record and block.
   */
  static void openAll(SegmentFiles segments, PartBatch batch) throws CorruptDataException {
    int failed = batch.openAll();
    if (failed >= 0) {
      throw new CorruptDataException("bad record: " + describe(segments, (RecordKey) batch.context(failed)) + " block "
          + batch.label(failed) + " fails authentication (altered, or moved from elsewhere)");
    }
  }

  /**
   * Copies blocks {@code [first, first + count)} into {@code dst} out of {@code span}, the bytes
   * from the start of the record at {@code key} (as many as the file had), caching its header.
   * Reads what the span lacks (blocks past it, a compressed chunk that goes past it) from the segment.
   */
  static void fromSpan(SegmentFiles segments, RecordKey key, long owner, long base, ByteBuffer span, int first, int count,
      ByteBuffer dst)
      throws IOException {
    fromSpan(segments, key, owner, base, span, first, count, dst, null);
  }

  /** Copies blocks out of a span as the method above does; sealed ones are added to {@code batch} if there is one. */
  static void fromSpan(SegmentFiles segments, RecordKey key, long owner, long base, ByteBuffer span, int first, int count,
      ByteBuffer dst, PartBatch batch)
      throws IOException {
    RecordHeader header = RecordHeader.read(span.duplicate(), () -> describe(segments, key));
    segments.cacheHeader(key, header);
    int chunkAt = span.position() + header.chunkOffset(0);
    int at = chunkAt + first * RecordHeader.BLOCK;
    int bytes = count * RecordHeader.BLOCK;
    boolean compressed = header.compressed()[0];
    if (first < 0 || first + count > header.blocks() || first + count > RecordHeader.blocksIn(header.blocks(), 0)
        || (compressed ? chunkAt + header.chunkLengths()[0] : at + bytes) > span.limit()) {
      readBlocks(segments, key, header, owner, base, first, count, dst, batch); // checks the range, reads what the span missed
      return;
    }
    if (compressed) {
      // A compressible block's record is about a third of a page: the span holds it whole.
      ByteBuffer chunk = span.duplicate().limit(chunkAt + header.chunkLengths()[0]).position(chunkAt);
      inflateChunk(segments, key, header, owner, base, 0, chunk, first, bytes, dst);
      return;
    }
    ByteBuffer blocks = span.duplicate().limit(at + bytes).position(at);
    if (batch != null && header.sealed()) {
      int to = dst.position();
      dst.put(blocks);
      checkBlocks(segments, key, header, owner, base, first, first, dst.duplicate().limit(to + bytes).position(to), batch);
      return;
    }
    checkBlocks(segments, key, header, owner, base, first, first, blocks);
    dst.put(blocks);
  }

  /**
   * Checks the stored blocks in {@code data} (its remaining bytes, whole blocks), record blocks
   * from {@code block} on, against the header's block table from entry {@code index} on.
   */
  static void checkBlocks(SegmentFiles segments, RecordKey key, RecordHeader header, long owner, long base, int index, int block,
      ByteBuffer data) throws CorruptDataException {
    checkBlocks(segments, key, header, owner, base, index, block, data, null);
  }

  /**
   * Checks blocks as the method above does, but adds sealed ones to {@code batch}, when there is
   * one, to be opened later with the rest of a large read.
   */
  static void checkBlocks(SegmentFiles segments, RecordKey key, RecordHeader header, long owner, long base, int index, int block,
      ByteBuffer data, PartBatch batch) throws CorruptDataException {
    if (header.sealed()) {
      if (batch == null) {
        openBlocks(segments, key, header, owner, base, index, block, data);
        return;
      }
      sealerFor(segments, key); // a sealed record in a plain datastore fails here, not in the batch
      int at = data.position();
      int count = data.remaining() / RecordHeader.BLOCK;
      for (int k = 0; k < count; k++) {
        batch.add(data, at + k * RecordHeader.BLOCK, RecordHeader.BLOCK, header.nonce(), index + k, owner, base + block + k,
            header.generation(), header.tags(), key, block + k);
      }
      return;
    }
    CRC32C crc = new CRC32C();
    ByteBuffer view = data.duplicate();
    int at = data.position();
    int count = data.remaining() / RecordHeader.BLOCK;
    for (int k = 0; k < count; k++) {
      crc.reset();
      crc.update(view.limit(at + (k + 1) * RecordHeader.BLOCK).position(at + k * RecordHeader.BLOCK));
      if ((int) crc.getValue() != header.blockCrcs()[index + k]) {
        throw new CorruptDataException(String.format("bad record: %s block %d checksum 0x%08x, computed 0x%08x",
            describe(segments, key), block + k, header.blockCrcs()[index + k], (int) crc.getValue()));
      }
    }
  }

  /**
   * Decrypts in place the sealed blocks in {@code data} (its remaining bytes, whole blocks), record
   * blocks from {@code block} on, parts from {@code part} on, checking each one's tag.
   */
  private static void openBlocks(SegmentFiles segments, RecordKey key, RecordHeader header, long owner, long base, int part,
      int block, ByteBuffer data) throws CorruptDataException {
    RecordSealer sealer = sealerFor(segments, key);
    int at = data.position();
    int count = data.remaining() / RecordHeader.BLOCK;
    for (int k = 0; k < count; k++) {
      ByteBuffer one = data.duplicate().limit(at + (k + 1) * RecordHeader.BLOCK).position(at + k * RecordHeader.BLOCK);
      if (!sealer.open(one, header.nonce(), 0, part + k, owner, base + block + k,
          header.generation(), header.tags(), RecordSealer.TAG_BYTES * (part + k))) {
        throw new CorruptDataException("bad record: " + describe(segments, key) + " block " + (block + k)
            + " fails authentication (altered, or moved from elsewhere)");
      }
    }
  }

  private static RecordSealer sealerFor(SegmentFiles segments, RecordKey key) throws CorruptDataException {
    RecordSealer sealer = segments.sealer();
    if (sealer == null) {
      throw new CorruptDataException("bad record: " + describe(segments, key)
          + " is sealed (version 2) in a datastore that is not encrypted");
    }
    return sealer;
  }

  /**
   * Checks compressed chunk {@code c} (the remaining bytes of {@code chunk}) and inflates its blocks
   * {@code [inChunk, inChunk + bytes / 4096)} into {@code dst}, advancing it.
   */
  static void inflateChunk(SegmentFiles segments, RecordKey key, RecordHeader header, long owner, long base, int c, ByteBuffer chunk,
      int inChunk,
      int bytes, ByteBuffer dst) throws CorruptDataException {
    if (header.sealed()) {
      int part = header.blockCrcIndex(c);
      if (!sealerFor(segments, key).open(chunk, header.nonce(), 0, part, owner,
          base + (long) c * RecordHeader.CHUNK_BLOCKS, header.generation(), header.tags(),
          RecordSealer.TAG_BYTES * part)) {
        throw new CorruptDataException("bad record: " + describe(segments, key) + " chunk " + c
            + " fails authentication (altered, or moved from elsewhere)");
      }
    } else {
      checkChunkCrc(segments, key, header, c, chunk);
    }
    int raw = header.chunkRawBytes(c);
    if (inChunk == 0 && bytes == raw) {
      decompress(chunk, dst, raw, segments, key, c);
    } else {
      ByteBuffer plain = borrowChunk(raw);
      try {
        decompress(chunk, plain, raw, segments, key, c);
        dst.put(plain.limit(inChunk * RecordHeader.BLOCK + bytes).position(inChunk * RecordHeader.BLOCK));
      } finally {
        CHUNKS.offer(plain);
      }
    }
  }

  private static void checkChunkCrc(SegmentFiles segments, RecordKey key, RecordHeader header, int c, ByteBuffer chunk)
      throws CorruptDataException {
    CRC32C crc = new CRC32C();
    crc.update(chunk.duplicate());
    if ((int) crc.getValue() != header.chunkCrcs()[c]) {
      throw new CorruptDataException(String.format("bad record: %s chunk %d checksum 0x%08x, computed 0x%08x",
          describe(segments, key), c, header.chunkCrcs()[c], (int) crc.getValue()));
    }
  }

  static String describe(SegmentFiles segments, RecordKey key) {
    return "record at offset " + key.offset() + " of " + segments.path(key.segment());
  }

  /** Checks that blocks {@code [first, first + count)} exist in the record {@code header} describes. */
  static void checkRange(SegmentFiles segments, RecordKey key, RecordHeader header, int first, int count)
      throws CorruptDataException {
    if (first < 0 || count < 0 || first + count > header.blocks()) {
      throw new CorruptDataException("bad map: blocks " + first + ".." + (first + count) + " of " + describe(segments, key)
          + " which holds " + header.blocks());
    }
  }

  /**
   * Copies {@code count} blocks starting at record block {@code first} into {@code dst}
   * (advancing it by {@code count * 4096}).
   */
  static void readBlocks(SegmentFiles segments, RecordKey key, RecordHeader header, long owner, long base, int first, int count,
      ByteBuffer dst) throws IOException {
    readBlocks(segments, key, header, owner, base, first, count, dst, null);
  }

  /** Reads as the method above does; sealed stored blocks are added to {@code batch} if there is one. */
  static void readBlocks(SegmentFiles segments, RecordKey key, RecordHeader header, long owner, long base, int first, int count,
      ByteBuffer dst, PartBatch batch) throws IOException {
    checkRange(segments, key, header, first, count);
    forEachChunkPart(header, first, count, (c, inChunk, block, take) -> {
      int bytes = take * RecordHeader.BLOCK;
      long chunkAt = key.offset() + header.chunkOffset(c);
      if (header.compressed()[c]) {
        int length = header.chunkLengths()[c];
        if (length < 0 || length > MAX_CHUNK_BYTES) {
          throw new CorruptDataException("bad record: " + describe(segments, key) + " chunk " + c + " is " + length
              + " bytes, expected at most " + MAX_CHUNK_BYTES);
        }
        ByteBuffer chunk = borrowChunk(length);
        try {
          segments.read(key.segment(), chunkAt, chunk);
          inflateChunk(segments, key, header, owner, base, c, chunk.flip(), inChunk, bytes, dst);
        } finally {
          CHUNKS.offer(chunk); // nothing keeps it: the blocks are inflated into dst
        }
      } else {
        // Read straight into the caller's buffer, then verify each block against the block table.
        int at = dst.position();
        ByteBuffer target = dst.duplicate().limit(at + bytes);
        segments.read(key.segment(), chunkAt + (long) inChunk * RecordHeader.BLOCK, target);
        checkBlocks(segments, key, header, owner, base, header.blockCrcIndex(c) + inChunk, block,
            dst.duplicate().limit(at + bytes), batch);
        dst.position(at + bytes);
      }
    });
  }

  /** Receives one part of a block range that lies in a single chunk. */
  @FunctionalInterface
  interface ChunkPart {
    /** Record blocks {@code [block, block + take)}, from block {@code inChunk} of chunk {@code c} on. */
    void accept(int c, int inChunk, int block, int take) throws IOException;
  }

  /** Splits record blocks {@code [first, first + count)} of {@code header}'s record at its chunk boundaries, in order. */
  static void forEachChunkPart(RecordHeader header, int first, int count, ChunkPart part) throws IOException {
    for (int block = first, end = first + count; block < end; ) {
      int c = block / RecordHeader.CHUNK_BLOCKS;
      int inChunk = block % RecordHeader.CHUNK_BLOCKS;
      int take = Math.min(end - block, RecordHeader.blocksIn(header.blocks(), c) - inChunk);
      part.accept(c, inChunk, block, take);
      block += take;
    }
  }
  /**
   * Returns whether a chunk looks compressible: for a chunk of more than {@link #PROBE_BYTES},
   * whether its first {@code PROBE_BYTES} compress by an eighth (into {@code out} at {@code pos}, scratch space
   * the chunk overwrites). Incompressible data, the common case for large writes of encrypted or
   * already compressed guests, then costs one sixteenth of a full attempt.
   */
  private static boolean worthCompressing(ByteBuffer src, int srcOff, int raw, ByteBuffer out, int pos) {
    if (raw <= PROBE_BYTES) {
      return true;
    }
    int n = COMPRESSOR.compress(src, srcOff, PROBE_BYTES, out, pos, out.capacity() - pos);
    return n <= PROBE_BYTES - PROBE_BYTES / PROBE_SAVING_DIVISOR;
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
