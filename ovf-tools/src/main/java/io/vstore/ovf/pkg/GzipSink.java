package io.vstore.ovf.pkg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Gzip ({@code ovf:compression="gzip"}) in front of another sink. The data it sees is mostly
 * streamOptimized VMDK whose grains are deflated already, so the fastest level is used: a higher
 * one would cost time and find nothing.
 */
final class GzipSink implements ByteSink {
  private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};
  private final ByteSink next;
  private final Deflater deflater = new Deflater(Deflater.BEST_SPEED, true);
  private final CRC32 crc = new CRC32();
  private final ByteBuffer out = ByteBuffer.allocateDirect(1 << 20);
  private long inputBytes;
  private boolean started;

  GzipSink(ByteSink next) {
    this.next = next;
  }

  @Override
  public void write(ByteBuffer src) throws IOException {
    if (!started) {
      started = true;
      next.write(ByteBuffer.wrap(HEADER));
    }
    inputBytes += src.remaining();
    crc.update(src.duplicate());
    deflater.setInput(src);
    while (!deflater.needsInput()) {
      drain(Deflater.NO_FLUSH);
    }
    // The deflater keeps a reference to its input buffer: drop it, or the caller's next clear()
    // of that buffer would hand the deflater its whole capacity again at finish().
    deflater.setInput(NO_INPUT);
  }

  private static final byte[] NO_INPUT = new byte[0];

  private void drain(int flush) throws IOException {
    deflater.deflate(out, flush);
    if (!out.hasRemaining() || flush != Deflater.NO_FLUSH || out.position() > 0) {
      out.flip();
      next.write(out);
      out.clear();
    }
  }

  @Override
  public void finish() throws IOException {
    if (!started) {
      started = true;
      next.write(ByteBuffer.wrap(HEADER));
    }
    deflater.finish();
    while (!deflater.finished()) {
      drain(Deflater.NO_FLUSH);
    }
    deflater.end();
    ByteBuffer trailer = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    trailer.putInt((int) crc.getValue()).putInt((int) inputBytes).flip();
    next.write(trailer);
    next.finish();
  }
}
