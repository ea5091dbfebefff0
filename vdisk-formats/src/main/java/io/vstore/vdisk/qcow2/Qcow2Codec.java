package io.vstore.vdisk.qcow2;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdInputStream;
import io.vstore.vdisk.CorruptImageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Compression of whole clusters as qcow2 stores them: raw deflate (QEMU's zlib type) or a zstd
 * frame (compression_type 1).
 *
 * <p>QEMU inflates with a 4 KiB window ({@code inflateInit2(-12)}), and the JDK's Deflater always
 * uses 32 KiB, whose back-references QEMU would reject. So vstore resets the dictionary every
 * 4 KiB with {@code FULL_FLUSH}: no match ever reaches further back than QEMU's window.
 */
final class Qcow2Codec {
  /** QEMU's deflate window: 2^12 bytes. */
  static final int DEFLATE_WINDOW = 4096;

  private Qcow2Codec() {}

  /**
   * Compresses {@code cluster}; returns the compressed bytes, or null when they would not be
   * smaller than the cluster (it is then stored uncompressed, as QEMU does).
   */
  static byte[] compress(int type, byte[] cluster) {
    byte[] out;
    if (type == Qcow2Header.COMPRESSION_ZSTD) {
      try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
        ctx.setLevel(3);
        out = ctx.compress(cluster);
      }
    } else {
      Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
      try {
        byte[] buf = new byte[cluster.length + 64];
        int n = 0;
        for (int pos = 0; pos < cluster.length; pos += DEFLATE_WINDOW) {
          int len = Math.min(DEFLATE_WINDOW, cluster.length - pos);
          d.setInput(cluster, pos, len);
          if (pos + len < cluster.length) {
            // Output space left over after the call means the flush completed.
            n += d.deflate(buf, n, buf.length - n, Deflater.FULL_FLUSH);
          } else {
            d.finish();
            while (!d.finished() && n < buf.length) {
              n += d.deflate(buf, n, buf.length - n);
            }
          }
          if (n >= cluster.length) {
            return null; // not smaller: stored uncompressed
          }
        }
        out = Arrays.copyOf(buf, n);
      } finally {
        d.end();
      }
    }
    return out.length < cluster.length ? out : null;
  }

  /** Decompresses {@code src} (possibly followed by padding) into exactly {@code dst.length} bytes. */
  static void decompress(int type, byte[] src, int srcLength, byte[] dst, String file, long guestOffset)
      throws IOException {
    if (type == Qcow2Header.COMPRESSION_ZSTD) {
      // The stored length is rounded up to sectors, so stop as soon as the cluster is full.
      try (ZstdInputStream in = new ZstdInputStream(new ByteArrayInputStream(src, 0, srcLength))) {
        int n = in.readNBytes(dst, 0, dst.length);
        if (n != dst.length) {
          throw new CorruptImageException("bad qcow2: " + file + " compressed cluster for guest offset " + guestOffset
              + " inflates to " + n + " bytes, expected " + dst.length);
        }
      } catch (CorruptImageException e) {
        throw e;
      } catch (IOException | RuntimeException e) {
        throw new CorruptImageException("bad qcow2: " + file + " compressed (zstd) cluster for guest offset "
            + guestOffset + ": " + e.getMessage(), e);
      }
      return;
    }
    Inflater inf = new Inflater(true);
    try {
      inf.setInput(src, 0, srcLength);
      int n = 0;
      while (n < dst.length) {
        int r = inf.inflate(dst, n, dst.length - n);
        n += r;
        if (r == 0 && (inf.finished() || inf.needsInput() || inf.needsDictionary())) {
          break;
        }
      }
      if (n != dst.length) {
        throw new CorruptImageException("bad qcow2: " + file + " compressed cluster for guest offset " + guestOffset
            + " inflates to " + n + " bytes, expected " + dst.length);
      }
    } catch (DataFormatException e) {
      throw new CorruptImageException("bad qcow2: " + file + " compressed cluster for guest offset " + guestOffset
          + ": " + e.getMessage(), e);
    } finally {
      inf.end();
    }
  }
}
