package io.vstore.vdisk.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Positional whole-buffer reads and writes on a file channel. */
final class ChannelIo {
  private ChannelIo() {}

  /**
   * Reads {@code dst.remaining()} bytes at {@code position}; bytes past the end of the file read
   * as zeros. Returns how many bytes came from the file.
   */
  static int readPadded(FileChannel ch, long position, ByteBuffer dst) throws IOException {
    if (position < 0) {
      // Offsets come from the file as unsigned sector or byte numbers; a set top bit points nowhere.
      throw new io.vstore.vdisk.CorruptImageException("bad vmdk: a structure points at offset 0x"
          + Long.toHexString(position) + ", beyond the end of file");
    }
    int got = 0;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, position + got);
      if (n < 0) {
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
        break;
      }
      got += n;
    }
    return got;
  }

  /** Reads exactly {@code dst.remaining()} bytes at {@code position}, or throws naming {@code what}. */
  static void readFully(FileChannel ch, long position, ByteBuffer dst, String what) throws IOException {
    int want = dst.remaining();
    int got = readPadded(ch, position, dst);
    if (got < want) {
      throw new io.vstore.vdisk.CorruptImageException(
          "bad vmdk: " + what + " at 0x" + Long.toHexString(position) + " (" + want + " bytes) extends past end of file");
    }
  }

  /** Writes all of {@code src} at {@code position}. */
  static void writeFully(FileChannel ch, long position, ByteBuffer src) throws IOException {
    long pos = position;
    while (src.hasRemaining()) {
      pos += ch.write(src, pos);
    }
  }

  /** Fills {@code dst}'s remaining bytes with zeros. */
  static void zero(ByteBuffer dst) {
    while (dst.remaining() >= 8) {
      dst.putLong(0L);
    }
    while (dst.hasRemaining()) {
      dst.put((byte) 0);
    }
  }

  /** Returns whether every remaining byte of {@code b} is zero, without moving it. */
  static boolean isZero(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    while (d.remaining() >= 8) {
      if (d.getLong() != 0) {
        return false;
      }
    }
    while (d.hasRemaining()) {
      if (d.get() != 0) {
        return false;
      }
    }
    return true;
  }
}
