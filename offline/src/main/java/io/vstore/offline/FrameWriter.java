package io.vstore.offline;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

/**
 * Writes a transfer stream (see {@link FrameFormat}): each data range LZ4-compressed when that
 * saves at least an eighth, with the CRC32C of its bytes, so the reader checks what arrives end to
 * end whatever the transport did. Not thread-safe: one writer per stream, buffers reused.
 */
public final class FrameWriter {
  private static final LZ4Compressor LZ4 = LZ4Factory.fastestInstance().fastCompressor();

  private final OutputStream out;
  private final byte[] header = new byte[FrameFormat.HEADER];
  private final ByteBuffer headerBuf = ByteBuffer.wrap(header).order(ByteOrder.BIG_ENDIAN);
  private final CRC32C crc = new CRC32C();
  private static final int PROBE = 64 << 10;
  private byte[] packed = new byte[0];
  private byte[] probe = new byte[0];
  private long frames;
  private long bytesWritten;

  /** Writes frames to {@code out} (not closed by this writer). */
  public FrameWriter(OutputStream out) {
    this.out = out;
  }

  /** Writes the {@code src.remaining()} bytes of {@code src} as the data of {@code disk} at {@code offset}. */
  public void data(int disk, long offset, ByteBuffer src) throws IOException {
    int length = src.remaining();
    if (length > FrameFormat.MAX_LENGTH || length <= 0) {
      throw new IllegalArgumentException("frame of " + length + " bytes (1 to " + FrameFormat.MAX_LENGTH + ")");
    }
    crc.reset();
    crc.update(src.duplicate());
    int dataCrc = (int) crc.getValue();
    int bound = LZ4.maxCompressedLength(length);
    if (packed.length < bound) {
      packed = new byte[bound];
    }
    int compressed = length;
    if (worthTrying(src, length)) {
      compressed = LZ4.compress(src.duplicate(), src.position(), length, ByteBuffer.wrap(packed), 0, bound);
    }
    if (compressed <= length - (length >>> 3)) {
      header(FrameFormat.DATA, FrameFormat.LZ4, disk, offset, length, compressed, dataCrc);
      out.write(packed, 0, compressed);
      bytesWritten += compressed;
    } else {
      header(FrameFormat.DATA, FrameFormat.STORED, disk, offset, length, length, dataCrc);
      if (src.hasArray()) {
        out.write(src.array(), src.arrayOffset() + src.position(), length);
      } else {
        if (packed.length < length) {
          packed = new byte[length];
        }
        src.duplicate().get(packed, 0, length);
        out.write(packed, 0, length);
      }
      bytesWritten += length;
    }
  }

  /**
   * Returns whether compressing a range may pay: a large range is compressed only if its first
   * {@link #PROBE} bytes shrink by an eighth, so incompressible data (media, encrypted or already
   * compressed files) costs one small probe, not a full LZ4 pass thrown away.
   */
  private boolean worthTrying(ByteBuffer src, int length) {
    if (length < 2 * PROBE) {
      return true;
    }
    int bound = LZ4.maxCompressedLength(PROBE);
    if (probe.length < bound) {
      probe = new byte[bound];
    }
    int n = LZ4.compress(src.duplicate(), src.position(), PROBE, ByteBuffer.wrap(probe), 0, bound);
    return n <= PROBE - (PROBE >>> 3);
  }

  /** Writes that {@code length} bytes of {@code disk} at {@code offset} read as zeros. */
  public void zero(int disk, long offset, int length) throws IOException {
    if (length > FrameFormat.MAX_LENGTH || length <= 0) {
      throw new IllegalArgumentException("frame of " + length + " bytes (1 to " + FrameFormat.MAX_LENGTH + ")");
    }
    header(FrameFormat.ZERO, FrameFormat.STORED, disk, offset, length, 0, 0);
  }

  /** Writes the end frame (carrying the frame count, so a truncated stream is detected) and flushes. */
  public void end() throws IOException {
    header(FrameFormat.END, FrameFormat.STORED, 0, frames, 0, 0, 0);
    out.flush();
  }

  /** Returns the bytes written so far, headers included. */
  public long bytesWritten() {
    return bytesWritten;
  }

  private void header(byte type, byte codec, int disk, long offset, int length, int stored, int dataCrc)
      throws IOException {
    if (disk < 0 || disk > FrameFormat.MAX_DISK) {
      throw new IllegalArgumentException("disk index " + disk);
    }
    headerBuf.clear();
    headerBuf.putInt(FrameFormat.MAGIC).put(type).put(codec).putShort((short) disk).putLong(offset)
        .putInt(length).putInt(stored).putInt(dataCrc);
    crc.reset();
    crc.update(header, 0, 28);
    headerBuf.putInt((int) crc.getValue());
    out.write(header);
    bytesWritten += FrameFormat.HEADER;
    frames++;
  }
}
