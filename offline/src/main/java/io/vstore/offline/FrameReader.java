package io.vstore.offline;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Reads a transfer stream (see {@link FrameFormat}), checking every header and every range's CRC32C
 * and bounding every size before allocating; anything wrong is a {@link TransferException} that
 * says what. Not thread-safe.
 */
public final class FrameReader {
  private static final LZ4SafeDecompressor LZ4 = LZ4Factory.fastestInstance().safeDecompressor();

  private final InputStream in;
  private final String source;
  private final byte[] header = new byte[FrameFormat.HEADER];
  private final CRC32C crc = new CRC32C();
  private byte[] packed = new byte[0];
  /** The data array handed out last, handed out again for a frame of its length; null: new arrays. */
  private byte[] shared;
  private final boolean reuse;
  private long frames;
  private long bytesRead;
  private boolean ended;

  /** Reads frames from {@code in}; {@code source} names it in errors. */
  public FrameReader(InputStream in, String source) {
    this(in, source, false);
  }

  private FrameReader(InputStream in, String source, boolean reuse) {
    this.in = in;
    this.source = source;
    this.reuse = reuse;
  }

  /**
   * Returns a reader whose data frames share one array, valid until the next call of {@link #next}:
   * for a caller that writes each frame away at once, 1 MiB of garbage less per frame.
   */
  public static FrameReader reusing(InputStream in, String source) {
    return new FrameReader(in, source, true);
  }

  /**
   * Returns the next frame; its data array (exactly the frame's length) is new for each data frame
   * (callers keep it) unless this reader is {@link #reusing}. After the end frame, returns null.
   */
  public Frame next() throws IOException {
    if (ended) {
      return null;
    }
    readFully(header, FrameFormat.HEADER, "a frame header");
    ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.BIG_ENDIAN);
    int magic = h.getInt();
    crc.reset();
    crc.update(header, 0, 28);
    int headerCrc = h.getInt(28);
    if (magic != FrameFormat.MAGIC) {
      throw new TransferException("bad transfer stream from " + source + ": frame " + frames + " has magic 0x"
          + Integer.toHexString(magic) + ", expected 0x" + Integer.toHexString(FrameFormat.MAGIC));
    }
    if (headerCrc != (int) crc.getValue()) {
      throw new TransferException("bad transfer stream from " + source + ": frame " + frames
          + " header checksum mismatch");
    }
    byte type = h.get(4);
    byte codec = h.get(5);
    int disk = Short.toUnsignedInt(h.getShort(6));
    long offset = h.getLong(8);
    int length = h.getInt(16);
    int stored = h.getInt(20);
    int dataCrc = h.getInt(24);
    bytesRead += FrameFormat.HEADER;
    switch (type) {
      case FrameFormat.END -> {
        if (offset != frames) {
          throw new TransferException("bad transfer stream from " + source + ": end frame counts " + offset
              + " frames, received " + frames);
        }
        ended = true;
        return new Frame(Frame.Type.END, 0, offset, 0, null);
      }
      case FrameFormat.ZERO -> {
        checkRange(offset, length);
        frames++;
        return new Frame(Frame.Type.ZERO, disk, offset, length, null);
      }
      case FrameFormat.DATA -> {
        checkRange(offset, length);
        byte[] data = reuse && shared != null && shared.length == length ? shared : new byte[length];
        if (reuse) {
          shared = data;
        }
        if (codec == FrameFormat.STORED) {
          if (stored != length) {
            throw new TransferException("bad transfer stream from " + source + ": stored frame of " + length
                + " bytes says " + stored + " follow");
          }
          readFully(data, length, "frame data");
        } else if (codec == FrameFormat.LZ4) {
          if (stored <= 0 || stored > LZ4Factory.fastestInstance().fastCompressor().maxCompressedLength(length)) {
            throw new TransferException("bad transfer stream from " + source + ": compressed size " + stored
                + " for " + length + " bytes");
          }
          if (packed.length < stored) {
            packed = new byte[stored];
          }
          readFully(packed, stored, "frame data");
          try {
            int n = LZ4.decompress(packed, 0, stored, data, 0, length);
            if (n != length) {
              throw new TransferException("bad transfer stream from " + source + ": frame at " + offset
                  + " decompressed to " + n + " bytes, expected " + length);
            }
          } catch (LZ4Exception e) {
            throw new TransferException("bad transfer stream from " + source + ": frame at " + offset
                + " does not decompress: " + e.getMessage());
          }
        } else {
          throw new TransferException("unsupported transfer stream from " + source + ": codec " + codec);
        }
        bytesRead += stored;
        crc.reset();
        crc.update(data, 0, length);
        if ((int) crc.getValue() != dataCrc) {
          throw new TransferException("bad transfer stream from " + source + ": disk " + disk + " range at "
              + offset + " (" + length + " bytes) fails its checksum");
        }
        frames++;
        return new Frame(Frame.Type.DATA, disk, offset, length, data);
      }
      default -> throw new TransferException("bad transfer stream from " + source + ": frame type " + type);
    }
  }

  /** Returns the bytes read so far. */
  public long bytesRead() {
    return bytesRead;
  }

  private void checkRange(long offset, int length) throws TransferException {
    if (length <= 0 || length > FrameFormat.MAX_LENGTH || offset < 0 || offset > Long.MAX_VALUE - length) {
      throw new TransferException("bad transfer stream from " + source + ": frame at " + offset + " of " + length
          + " bytes (1 to " + FrameFormat.MAX_LENGTH + ")");
    }
  }

  private void readFully(byte[] b, int n, String what) throws IOException {
    int done = 0;
    while (done < n) {
      int r = in.read(b, done, n - done);
      if (r < 0) {
        throw new EOFException("transfer stream from " + source + " ended inside " + what + " (after " + frames
            + " frames)");
      }
      done += r;
    }
  }
}
