package io.vstore.ovf.pkg;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Digests one package member while it is read and, at its end, compares the digest with the
 * manifest's: the manifest is checked on the bytes as they stream, never by a second read. The
 * digest itself runs on another thread ({@link BackgroundDigest}), off the reading thread.
 * A member shorter or longer than its recorded size is reported too.
 */
final class VerifyingInputStream extends FilterInputStream {
  private final String pkg;
  private final Manifest.Entry entry; // null: no manifest, only the size is checked
  private final BackgroundDigest digest;
  private final long size;
  private long count;
  private boolean done;
  private final Runnable onVerified;

  VerifyingInputStream(InputStream in, String pkg, String member, long size, Manifest.Entry entry, Runnable onVerified) {
    super(in);
    this.pkg = pkg + ": " + member;
    this.entry = entry;
    this.digest = entry == null ? null : new BackgroundDigest(entry.algorithm().newDigest());
    this.size = size;
    this.onVerified = onVerified;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (done) {
      return -1;
    }
    int n = in.read(b, off, len);
    if (n < 0) {
      finish();
      return -1;
    }
    if (digest != null) {
      digest.update(b, off, n);
    }
    count += n;
    if (count > size) {
      throw new PackageException("bad ova: " + pkg + " is longer than its " + size + " bytes");
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    // Skipping would leave bytes undigested: read them instead.
    byte[] buf = new byte[(int) Math.min(Math.max(n, 0), 64 * 1024)];
    int got = read(buf, 0, buf.length);
    return Math.max(got, 0);
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  private void finish() throws IOException {
    done = true;
    if (count != size) {
      throw new PackageException("bad ova: " + pkg + " ends after " + count + " of its " + size + " bytes (truncated)");
    }
    if (digest != null) {
      String actual = Manifest.hex(digest.finish());
      if (!actual.equals(entry.hex())) {
        throw new PackageException("manifest mismatch: " + pkg + ": " + entry.algorithm() + " expected " + entry.hex()
            + ", actual " + actual);
      }
    }
    onVerified.run();
  }

  /** Reads the rest of the member (so that it is verified) without returning it. */
  void drain() throws IOException {
    byte[] buf = new byte[256 * 1024];
    while (read(buf, 0, buf.length) >= 0) {
      // digesting
    }
  }

  /** Returns whether the member was read to its end and verified. */
  boolean verified() {
    return done;
  }
}
