package io.vstore.vdisk;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Reads of an image file's bytes that the block-table formats (VHD, VHDX, VDI) share. */
public final class FileContent {
  private static final int SCAN_CHUNK = 64 * 1024;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(SCAN_CHUNK).asReadOnlyBuffer();

  private FileContent() {}

  /**
   * Reads {@code dst.remaining()} bytes at {@code position}; what lies past the end of the file
   * reads as zeros (a sparse tail, as qemu reads it; metadata truncation is caught by the headers).
   */
  public static void readOrZero(FileChannel ch, long position, ByteBuffer dst) throws IOException {
    long pos = position;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, pos);
      if (n < 0) {
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
        return;
      }
      pos += n;
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
