package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.FileContent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Reads of VMDK structures whose offsets come from the file: checked, with VMDK error messages. */
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
    return FileContent.readOrZero(ch, position, dst);
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
