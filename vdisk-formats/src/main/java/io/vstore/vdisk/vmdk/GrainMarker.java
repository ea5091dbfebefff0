package io.vstore.vdisk.vmdk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A streamOptimized marker, little-endian. A grain marker is followed by {@code size} bytes of
 * deflate data; a metadata marker ({@code size} 0) fills a whole sector and names what follows.
 *
 * <pre>
 *  0 u64 value   LBA of the grain, or the number of sectors of metadata that follow
 *  8 u32 size    compressed bytes that follow (grain), or 0 (metadata marker)
 * 12 u32 type    metadata markers only: 0 end of stream, 1 grain table, 2 grain directory, 3 footer
 * 16..511 zero   metadata markers only
 * </pre>
 *
 * @param value the grain's LBA, or the metadata's length in sectors
 * @param size the compressed size, or 0 for metadata markers
 * @param type the metadata kind; {@link #TYPE_GRAIN} for grain markers
 */
record GrainMarker(long value, int size, int type) {

  /** Bytes before a grain's compressed data. */
  static final int GRAIN_HEADER = 12;
  /** Bytes of a metadata marker: one sector. */
  static final int METADATA_SIZE = 512;
  /** Type of a grain marker (not stored: a grain marker has no type field). */
  static final int TYPE_GRAIN = -1;
  /** Type of a metadata marker whose type field was not available. */
  static final int TYPE_UNKNOWN = -2;
  /** End-of-stream marker type. */
  static final int TYPE_EOS = 0;
  /** Grain table marker type. */
  static final int TYPE_GT = 1;
  /** Grain directory marker type. */
  static final int TYPE_GD = 2;
  /** Footer marker type. */
  static final int TYPE_FOOTER = 3;

  /** Reads a marker from {@code b}, which holds at least 12 bytes (16 to learn a metadata marker's type). */
  static GrainMarker read(ByteBuffer b) {
    ByteBuffer m = b.slice(b.position(), b.remaining()).order(ByteOrder.LITTLE_ENDIAN);
    long value = m.getLong(0);
    int size = m.getInt(8);
    if (size != 0) {
      b.position(b.position() + GRAIN_HEADER);
      return new GrainMarker(value, size, TYPE_GRAIN);
    }
    // A grain marker read with only its 12 bytes at hand cannot tell its type: report it unknown.
    int type = m.remaining() >= 16 ? m.getInt(12) : TYPE_UNKNOWN;
    b.position(b.position() + Math.min(METADATA_SIZE, b.remaining()));
    return new GrainMarker(value, 0, type);
  }

  /** Writes the marker: 12 bytes for a grain marker, one zero-padded sector for metadata. */
  void write(ByteBuffer b) {
    ByteBuffer m = b.slice(b.position(), b.remaining()).order(ByteOrder.LITTLE_ENDIAN);
    m.putLong(0, value).putInt(8, size);
    if (type == TYPE_GRAIN) {
      b.position(b.position() + GRAIN_HEADER);
      return;
    }
    m.putInt(12, type);
    for (int i = 16; i < METADATA_SIZE; i++) {
      m.put(i, (byte) 0);
    }
    b.position(b.position() + METADATA_SIZE);
  }
}
