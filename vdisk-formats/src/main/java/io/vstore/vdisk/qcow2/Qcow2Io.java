package io.vstore.vdisk.qcow2;

import io.vstore.vdisk.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Positional whole-buffer reads and writes on a qcow2 file. */
final class Qcow2Io {
  private Qcow2Io() {}

  /** Reads {@code dst.remaining()} bytes at {@code pos}; a structure cut off by the end of file is corrupt. */
  static void readFully(FileChannel ch, long pos, ByteBuffer dst, String file, String what) throws IOException {
    if (pos < 0) {
      // Offsets are unsigned 64-bit in the format; one with the top bit set points nowhere.
      throw new CorruptImageException("bad qcow2: " + file + " " + what + " at 0x" + Long.toHexString(pos)
          + " is beyond the end of file");
    }
    long p = pos;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, p);
      if (n < 0) {
        throw new CorruptImageException("bad qcow2: " + file + " " + what + " at 0x" + Long.toHexString(pos)
            + " is cut off by the end of file");
      }
      p += n;
    }
  }

  /** Reads at {@code pos}, filling what lies past the end of file with zeros (as QEMU reads data). */
  static void readOrZero(FileChannel ch, long pos, ByteBuffer dst) throws IOException {
    if (pos < 0) {
      throw new CorruptImageException("bad qcow2: data at 0x" + Long.toHexString(pos) + " is beyond the end of file");
    }
    long p = pos;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, p);
      if (n < 0) {
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
        return;
      }
      p += n;
    }
  }

  /** Writes all of {@code src} at {@code pos}. */
  static void writeFully(FileChannel ch, long pos, ByteBuffer src) throws IOException {
    long p = pos;
    while (src.hasRemaining()) {
      p += ch.write(src, p);
    }
  }
}
