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
 *
 * version 2, a sealed record (encrypted datastores), differs in:
 *  48 bytes[12] nonce base (see RecordSealer)   60 u32 reserved (0)
 *  64 chunk table as above, but the CRC32C word of every chunk is 0
 *     tag table: one 16-byte AES-GCM tag per part, parts in order: a compressed chunk is one
 *     part, a stored chunk one part per block (it replaces the block table)
 *  then the parts' ciphertext, back to back, as long as their plaintext
 * </pre>
 *
 * <p>The header of a sealed record stays in the clear (its checksum covers it); what it shows is
 * where data is and how well it compressed, not what it is. Its volume, first block and
 * generation are bound to every part as associated data, so editing them fails the parts' tags.
 *
 * @param nonce the nonce base of a sealed record (12 bytes), null for a plain one
 * @param tags the tag table of a sealed record (16 bytes per part), null for a plain one
 */
record RecordHeader(long volume, long firstBlock, int blocks, long generation, int[] chunkLengths, boolean[] compressed,
    int[] chunkCrcs, int[] blockCrcs, byte[] nonce, byte[] tags) {
  /**
   * The record format: version 1 is the plain layout above, version 2 the sealed one; "REC1" is
   * its magic, whatever the version. Plain records are still written as version 1, which every
   * vstore reads; only encrypted datastores (which older vstores refuse to open) hold version 2.
   */
  static final FormatCodec CODEC = new FormatCodec("vstore-record", "record", "REC1", 1, 2);
  static final int PLAIN_VERSION = 1;
  static final int SEALED_VERSION = 2;
  static final int FIXED_BYTES = 48;
  static final int SEALED_FIXED_BYTES = 64;
  static final int TAG_BYTES = 16;
  static final int BLOCK = 4096;
  static final int CHUNK_BLOCKS = 16;
  static final int CHUNK_BYTES = CHUNK_BLOCKS * BLOCK;
  static final int MAX_BLOCKS = 256;
  static final int MAX_CHUNKS = MAX_BLOCKS / CHUNK_BLOCKS;
  /** The largest plain header. */
  static final int MAX_HEADER_BYTES = FIXED_BYTES + 8 * MAX_CHUNKS + 4 * MAX_BLOCKS;
  /** The largest sealed header: a 16-byte tag per block instead of a 4-byte checksum. */
  static final int SEALED_MAX_HEADER_BYTES = SEALED_FIXED_BYTES + 8 * MAX_CHUNKS + TAG_BYTES * MAX_BLOCKS;
  private static final int COMPRESSED_BIT = 0x8000_0000;

  /** Creates a plain (version 1) header. */
  RecordHeader(long volume, long firstBlock, int blocks, long generation, int[] chunkLengths, boolean[] compressed,
      int[] chunkCrcs, int[] blockCrcs) {
    this(volume, firstBlock, blocks, generation, chunkLengths, compressed, chunkCrcs, blockCrcs, null, null);
  }

  /** Returns whether the record is sealed (version 2): its parts are encrypted and carry tags. */
  boolean sealed() {
    return nonce != null;
  }

  /** Returns the number of sealed parts of a record: one per compressed chunk, one per stored block. */
  static int partsOf(int blocks, boolean[] compressed) {
    int parts = 0;
    for (int i = 0; i < compressed.length; i++) {
      parts += compressed[i] ? 1 : blocksIn(blocks, i);
    }
    return parts;
  }

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
    boolean sealed = Short.toUnsignedInt(b.getShort(4)) == SEALED_VERSION;
    int table = sealed ? SEALED_FIXED_BYTES : FIXED_BYTES;
    int chunks = Short.toUnsignedInt(b.getShort(6));
    int blocks = b.getInt(24);
    int entries = 0;
    for (int i = 0; i < chunks; i++) {
      boolean compressed = (b.getInt(table + 8 * i) & COMPRESSED_BIT) != 0;
      if (i == 0 && compressed) {
        return -1;
      }
      entries += compressed ? (sealed ? 1 : 0) : blocksIn(blocks, i);
    }
    return table + 8 * chunks + (sealed ? TAG_BYTES : 4) * entries;
  }

  /** Returns where the chunk table starts. */
  private int tableStart() {
    return sealed() ? SEALED_FIXED_BYTES : FIXED_BYTES;
  }

  /** Returns the header size: fixed part, chunk table and block table (or tag table). */
  int headerBytes() {
    return sealed() ? SEALED_FIXED_BYTES + 8 * chunkLengths.length + tags.length
        : FIXED_BYTES + 8 * chunkLengths.length + 4 * blockCrcs.length;
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

  /**
   * Returns the index in the block table of the first block of stored chunk {@code i}; for a
   * sealed record, the index of chunk {@code i}'s first part in the tag table.
   */
  int blockCrcIndex(int i) {
    int index = 0;
    for (int c = 0; c < i; c++) {
      if (!compressed[c]) {
        index += blocksIn(blocks, c);
      } else if (sealed()) {
        index++;
      }
    }
    return index;
  }

  /** Writes the header at {@code out}'s position, advancing it. */
  void write(ByteBuffer out) {
    ByteBuffer b = out.slice().order(ByteOrder.LITTLE_ENDIAN);
    CODEC.putMagic(b, 0);
    b.position(CODEC.magicBytes()).putShort((short) (sealed() ? SEALED_VERSION : PLAIN_VERSION))
        .putShort((short) chunkLengths.length);
    b.putLong(volume).putLong(firstBlock).putInt(blocks).putInt(payloadBytes()).putLong(generation).putInt(0);
    if (sealed()) {
      b.position(FIXED_BYTES).put(nonce).putInt(0);
    }
    b.position(tableStart());
    for (int i = 0; i < chunkLengths.length; i++) {
      b.putInt(chunkLengths[i] | (compressed[i] ? COMPRESSED_BIT : 0)).putInt(sealed() ? 0 : chunkCrcs[i]);
    }
    if (sealed()) {
      b.put(tags);
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
    boolean sealed = CODEC.checkVersion(Short.toUnsignedInt(b.getShort(4)), record) == SEALED_VERSION;
    int table = sealed ? SEALED_FIXED_BYTES : FIXED_BYTES;
    int chunks = Short.toUnsignedInt(b.getShort(6));
    int blocks = b.getInt(24);
    if (blocks <= 0 || blocks > MAX_BLOCKS || chunks != chunksFor(blocks)) {
      throw new CorruptDataException("bad record: " + record.get() + " has " + blocks + " blocks in " + chunks + " chunks");
    }
    int tableEnd = table + 8 * chunks;
    if (b.remaining() < tableEnd) {
      throw new CorruptDataException("bad record: " + record.get() + " chunk table is truncated");
    }
    int[] lengths = new int[chunks];
    boolean[] compressed = new boolean[chunks];
    int[] crcs = new int[chunks];
    long payload = 0;
    int storedBlocks = 0;
    for (int i = 0; i < chunks; i++) {
      int word = b.getInt(table + 8 * i);
      lengths[i] = word & ~COMPRESSED_BIT;
      compressed[i] = (word & COMPRESSED_BIT) != 0;
      crcs[i] = b.getInt(table + 8 * i + 4);
      int raw = blocksIn(blocks, i) * BLOCK;
      if (lengths[i] <= 0 || (!compressed[i] && lengths[i] != raw) || lengths[i] > raw + raw / 255 + 16) {
        throw new CorruptDataException("bad record: " + record.get() + " chunk " + i + " has stored length " + lengths[i]);
      }
      if (!compressed[i]) {
        storedBlocks += blocksIn(blocks, i);
      }
      payload += lengths[i];
    }
    int parts = partsOf(blocks, compressed);
    int headerBytes = tableEnd + (sealed ? TAG_BYTES * parts : 4 * storedBlocks);
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
    if (sealed) {
      byte[] nonce = new byte[12];
      b.get(FIXED_BYTES, nonce);
      byte[] tags = new byte[TAG_BYTES * parts];
      b.get(tableEnd, tags);
      return new RecordHeader(b.getLong(8), b.getLong(16), blocks, b.getLong(32), lengths, compressed, crcs, new int[0],
          nonce, tags);
    }
    int[] blockCrcs = new int[storedBlocks];
    for (int i = 0; i < storedBlocks; i++) {
      blockCrcs[i] = b.getInt(tableEnd + 4 * i);
    }
    return new RecordHeader(b.getLong(8), b.getLong(16), blocks, b.getLong(32), lengths, compressed, crcs, blockCrcs);
  }
}
