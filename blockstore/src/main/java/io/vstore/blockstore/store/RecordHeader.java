package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The header of a data record in a segment file. A record holds up to {@link #MAX_BLOCKS}
 * consecutive 4 KiB blocks of one volume, stored as 64 KiB chunks, each LZ4-compressed when that
 * pays. A compressed chunk carries one CRC32C (it must be inflated whole anyway); a stored chunk
 * carries one per block, so a 4 KiB read reads and verifies 4 KiB, not the whole chunk.
 *
 * <pre>
 * little-endian:
 *   0 u32 magic "REC1"       4 u16 version (1)        6 u16 chunk count
 *   8 u64 volume id         16 u64 first block       24 u32 blocks
 *  28 u32 payload bytes     32 u64 generation        40 u32 reserved (0)
 *  44 u32 CRC32C of bytes [0, 44) followed by the rest of the header
 *  48 chunk table, per chunk: u32 stored length (bit 31 set: LZ4), u32 CRC32C of the stored bytes
 *     of an LZ4 chunk (a stored chunk: 0, or that CRC in records written before 2026-11-22; unread)
 *     block table: for each stored (uncompressed) chunk in order, one u32 CRC32C per block
 *  then the chunks' stored bytes, back to back
 * </pre>
 */
record RecordHeader(long volume, long firstBlock, int blocks, long generation, int[] chunkLengths, boolean[] compressed,
    int[] chunkCrcs, int[] blockCrcs) {
  /** The record format: version 1 is the layout above; "REC1" is its magic, whatever the version. */
  static final FormatCodec CODEC = new FormatCodec("vstore-record", "record", "REC1", 1, 1);
  static final int FIXED_BYTES = 48;
  static final int BLOCK = 4096;
  static final int CHUNK_BLOCKS = 16;
  static final int CHUNK_BYTES = CHUNK_BLOCKS * BLOCK;
  static final int MAX_BLOCKS = 256;
  static final int MAX_CHUNKS = MAX_BLOCKS / CHUNK_BLOCKS;
  static final int MAX_HEADER_BYTES = FIXED_BYTES + 8 * MAX_CHUNKS + 4 * MAX_BLOCKS;
  private static final int COMPRESSED_BIT = 0x8000_0000;

  /** Returns the number of chunks a record of {@code blocks} blocks has. */
  static int chunksFor(int blocks) {
    return (blocks + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS;
  }

  /** Returns the number of blocks in chunk {@code i} of a record of {@code blocks} blocks. */
  static int blocksIn(int blocks, int i) {
    return Math.min(CHUNK_BLOCKS, blocks - i * CHUNK_BLOCKS);
  }

  /**
   * Returns where the first chunk's bytes start in the encoded record at {@code record}'s position
   * (its header size) when that chunk is stored, or -1 when it is compressed (read whole anyway,
   * so its alignment does not matter). Reads only the fixed part and the chunk table, which the
   * encoder wrote; not for bytes from disk.
   */
  static int storedDataStart(ByteBuffer record) {
    ByteBuffer b = record.slice().order(ByteOrder.LITTLE_ENDIAN);
    int chunks = Short.toUnsignedInt(b.getShort(6));
    int blocks = b.getInt(24);
    int storedBlocks = 0;
    for (int i = 0; i < chunks; i++) {
      boolean compressed = (b.getInt(FIXED_BYTES + 8 * i) & COMPRESSED_BIT) != 0;
      if (i == 0 && compressed) {
        return -1;
      }
      storedBlocks += compressed ? 0 : blocksIn(blocks, i);
    }
    return FIXED_BYTES + 8 * chunks + 4 * storedBlocks;
  }

  /** Returns the header size: fixed part, chunk table and block table. */
  int headerBytes() {
    return FIXED_BYTES + 8 * chunkLengths.length + 4 * blockCrcs.length;
  }

  /** Returns the sum of the chunks' stored lengths. */
  int payloadBytes() {
    int sum = 0;
    for (int n : chunkLengths) {
      sum += n;
    }
    return sum;
  }

  /** Returns the record's whole size in its segment. */
  int storedBytes() {
    return headerBytes() + payloadBytes();
  }

  /** Returns the offset of chunk {@code i}'s stored bytes from the start of the record. */
  int chunkOffset(int i) {
    int off = headerBytes();
    for (int c = 0; c < i; c++) {
      off += chunkLengths[c];
    }
    return off;
  }

  /** Returns the raw (uncompressed) length of chunk {@code i}. */
  int chunkRawBytes(int i) {
    return blocksIn(blocks, i) * BLOCK;
  }

  /** Returns the index in the block table of the first block of stored chunk {@code i}. */
  int blockCrcIndex(int i) {
    int index = 0;
    for (int c = 0; c < i; c++) {
      if (!compressed[c]) {
        index += blocksIn(blocks, c);
      }
    }
    return index;
  }

  /** Writes the header at {@code out}'s position, advancing it. */
  void write(ByteBuffer out) {
    ByteBuffer b = out.slice().order(ByteOrder.LITTLE_ENDIAN);
    CODEC.putMagic(b, 0);
    b.position(CODEC.magicBytes()).putShort((short) CODEC.version()).putShort((short) chunkLengths.length);
    b.putLong(volume).putLong(firstBlock).putInt(blocks).putInt(payloadBytes()).putLong(generation).putInt(0);
    b.position(FIXED_BYTES);
    for (int i = 0; i < chunkLengths.length; i++) {
      b.putInt(chunkLengths[i] | (compressed[i] ? COMPRESSED_BIT : 0)).putInt(chunkCrcs[i]);
    }
    for (int crc : blockCrcs) {
      b.putInt(crc);
    }
    CRC32C crc = new CRC32C();
    crc.update(b.duplicate().position(0).limit(44));
    crc.update(b.duplicate().position(FIXED_BYTES).limit(headerBytes()));
    b.putInt(44, (int) crc.getValue());
    out.position(out.position() + headerBytes());
  }

  /**
   * Parses and validates a header from {@code in}, which holds at least the whole header (up to
   * {@link #MAX_HEADER_BYTES}). {@code record} names the record in errors; built only then,
   * because headers are parsed on every uncached random read. Throws {@link CorruptDataException}
   * for damage and {@link io.vstore.blockstore.UnsupportedFormatException} for a record of a
   * version this vstore does not read.
   */
  static RecordHeader read(ByteBuffer in, java.util.function.Supplier<String> record) throws IOException {
    ByteBuffer b = in.slice().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() < FIXED_BYTES) {
      throw new CorruptDataException("bad record: " + record.get() + " is truncated (" + b.remaining() + " header bytes)");
    }
    CODEC.checkMagic(b, 0, record);
    CODEC.checkVersion(Short.toUnsignedInt(b.getShort(4)), record);
    int chunks = Short.toUnsignedInt(b.getShort(6));
    int blocks = b.getInt(24);
    if (blocks <= 0 || blocks > MAX_BLOCKS || chunks != chunksFor(blocks)) {
      throw new CorruptDataException("bad record: " + record.get() + " has " + blocks + " blocks in " + chunks + " chunks");
    }
    int tableEnd = FIXED_BYTES + 8 * chunks;
    if (b.remaining() < tableEnd) {
      throw new CorruptDataException("bad record: " + record.get() + " chunk table is truncated");
    }
    int[] lengths = new int[chunks];
    boolean[] compressed = new boolean[chunks];
    int[] crcs = new int[chunks];
    long payload = 0;
    int storedBlocks = 0;
    for (int i = 0; i < chunks; i++) {
      int word = b.getInt(FIXED_BYTES + 8 * i);
      lengths[i] = word & ~COMPRESSED_BIT;
      compressed[i] = (word & COMPRESSED_BIT) != 0;
      crcs[i] = b.getInt(FIXED_BYTES + 8 * i + 4);
      int raw = blocksIn(blocks, i) * BLOCK;
      if (lengths[i] <= 0 || (!compressed[i] && lengths[i] != raw) || lengths[i] > raw + raw / 255 + 16) {
        throw new CorruptDataException("bad record: " + record.get() + " chunk " + i + " has stored length " + lengths[i]);
      }
      if (!compressed[i]) {
        storedBlocks += blocksIn(blocks, i);
      }
      payload += lengths[i];
    }
    int headerBytes = tableEnd + 4 * storedBlocks;
    if (b.remaining() < headerBytes) {
      throw new CorruptDataException("bad record: " + record.get() + " block table is truncated");
    }
    CRC32C crc = new CRC32C();
    crc.update(b.duplicate().position(0).limit(44));
    crc.update(b.duplicate().position(FIXED_BYTES).limit(headerBytes));
    CODEC.checkChecksum(b.getInt(44), (int) crc.getValue(), record, "header");
    if (payload != Integer.toUnsignedLong(b.getInt(28))) {
      throw new CorruptDataException("bad record: " + record.get() + " payload " + Integer.toUnsignedLong(b.getInt(28))
          + " bytes, chunk table sums to " + payload);
    }
    int[] blockCrcs = new int[storedBlocks];
    for (int i = 0; i < storedBlocks; i++) {
      blockCrcs[i] = b.getInt(tableEnd + 4 * i);
    }
    return new RecordHeader(b.getLong(8), b.getLong(16), blocks, b.getLong(32), lengths, compressed, crcs, blockCrcs);
  }
}
