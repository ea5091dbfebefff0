package io.vstore.engine;

import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The bytes of a media file read from its volume: exactly {@link MediaFile#size()} of them (the
 * volume is rounded up to 512), checked against the recorded SHA-256 when the end is reached.
 */
final class MediaInputStream extends InputStream {
  private final Volume volume;
  private final MediaFile file;
  private final MessageDigest sha = VmMedia.sha256();
  private long position;
  private boolean closed;

  MediaInputStream(Volume volume, MediaFile file) {
    this.volume = volume;
    this.file = file;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (closed) {
      throw new IOException("media file " + file.name() + " (" + volume + ") is closed");
    }
    if (position >= file.size()) {
      return -1;
    }
    if (len == 0) {
      return 0;
    }
    int n = (int) Math.min(len, file.size() - position);
    volume.read(position, ByteBuffer.wrap(b, off, n));
    sha.update(b, off, n);
    position += n;
    if (position == file.size()) {
      String actual = HexFormat.of().formatHex(sha.digest());
      if (!actual.equals(file.sha256())) {
        throw new IOException("bad media file: " + file.name() + " in volume " + file.volume() + ": SHA-256 expected "
            + file.sha256() + ", actual " + actual);
      }
    }
    return n;
  }

  @Override
  public void close() throws IOException {
    if (!closed) {
      closed = true;
      volume.close();
    }
  }
}
