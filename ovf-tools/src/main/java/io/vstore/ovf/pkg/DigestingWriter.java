package io.vstore.ovf.pkg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;

/**
 * A member's bytes written at increasing positions of a channel, digested on the way: the
 * manifest's digests come from the bytes as they are written, never from a second read.
 */
final class DigestingWriter implements PackageOutput.MemberWriter {
  private final String name;
  private final FileChannel ch;
  private final long start;
  private final MessageDigest digest;
  private final Runnable onFinish;
  private long size;
  private String hex;

  DigestingWriter(String name, FileChannel ch, long start, DigestAlgorithm alg, Runnable onFinish) {
    this.name = name;
    this.ch = ch;
    this.start = start;
    this.digest = alg == null ? null : alg.newDigest();
    this.onFinish = onFinish;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void write(ByteBuffer src) throws IOException {
    if (digest != null) {
      digest.update(src.duplicate());
    }
    while (src.hasRemaining()) {
      size += ch.write(src, start + size);
    }
  }

  @Override
  public void finish() throws IOException {
    if (hex == null) {
      hex = digest == null ? "" : Manifest.hex(digest.digest());
      onFinish.run();
    }
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public String hexDigest() {
    return digest == null ? null : hex;
  }

  long start() {
    return start;
  }
}
