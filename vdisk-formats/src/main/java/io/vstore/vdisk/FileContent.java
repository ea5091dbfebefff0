package io.vstore.vdisk;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Positional reads and writes of an image file's bytes that every format shares. */
public final class FileContent {
  private static final int SCAN_CHUNK = 64 * 1024;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(SCAN_CHUNK).asReadOnlyBuffer();

  private FileContent() {}

  /**
   * Reads {@code dst.remaining()} bytes at {@code position}; what lies past the end of the file
   * reads as zeros (a sparse tail, as qemu reads it; metadata truncation is caught by the headers).
   * Returns how many bytes came from the file.
   */
  public static int readOrZero(FileChannel ch, long position, ByteBuffer dst) throws IOException {
    int got = 0;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, position + got);
      if (n < 0) {
        zero(dst);
        break;
      }
      got += n;
    }
    return got;
  }

  /** Writes all of {@code src} at {@code position}. */
  public static void writeFully(FileChannel ch, long position, ByteBuffer src) throws IOException {
    long pos = position;
    while (src.hasRemaining()) {
      pos += ch.write(src, pos);
    }
  }

  /** Fills the remaining bytes of {@code dst} with zeros. */
  public static void zero(ByteBuffer dst) {
    while (dst.hasRemaining()) {
      dst.put(ZEROS.duplicate().limit(Math.min(SCAN_CHUNK, dst.remaining())));
    }
  }

  /**
   * Describes guest bytes {@code [guestOffset, guestOffset + length)}, stored at {@code fileOffset},
   * by reading them: 64 KiB-aligned runs of zeros as ZERO, the rest as DATA. For blocks that stay
   * allocated whatever they hold (fixed disks), so that copies can skip their zeros.
   */
  public static void describeByContent(FileChannel ch, long fileOffset, long guestOffset, long length, ExtentList out)
      throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(SCAN_CHUNK);
    for (long done = 0; done < length; ) {
      long g = guestOffset + done;
      long next = Math.min(guestOffset + length, (g / SCAN_CHUNK + 1) * SCAN_CHUNK);
      buf.clear().limit((int) (next - g));
      readOrZero(ch, fileOffset + done, buf);
      buf.flip();
      boolean zeros = buf.mismatch(ZEROS.duplicate().limit(buf.remaining())) < 0;
      out.add(g, next - g, zeros ? Extent.Kind.ZERO : Extent.Kind.DATA);
      done += next - g;
    }
  }
}
