package io.vstore.vdisk;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/** Reads, hashes and compares whole devices and files in the format tests. */
public final class DeviceBytes {
  private static final int CHUNK = 1 << 20;

  private DeviceBytes() {}

  /** Reads the whole device into an array (small test images only). */
  public static byte[] readAll(BlockDevice d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(d.size()));
    d.read(0, b);
    return b.array();
  }

  /** Returns the hex sha256 of every byte of {@code device}, read in 1 MiB pieces. */
  public static String sha256(BlockDevice device) throws IOException {
    MessageDigest md = sha256();
    ByteBuffer buf = ByteBuffer.allocate(CHUNK);
    for (long pos = 0; pos < device.size(); ) {
      buf.clear().limit((int) Math.min(buf.capacity(), device.size() - pos));
      device.read(pos, buf);
      pos += buf.position();
      md.update(buf.flip());
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Returns the hex sha256 of a file. */
  public static String sha256(Path file) throws IOException {
    MessageDigest md = sha256();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] b = new byte[CHUNK];
      for (int n; (n = in.read(b)) > 0; ) {
        md.update(b, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** Asserts equal arrays, naming the first differing byte instead of printing both arrays. */
  public static void assertSameBytes(byte[] actual, byte[] expected, String what) {
    assertThat(actual.length).as(what + ": length").isEqualTo(expected.length);
    int at = Arrays.mismatch(actual, expected);
    assertThat(at).as("%s: first difference at byte %d (actual %s, expected %s)", what, at,
        at >= 0 ? actual[at] : "-", at >= 0 ? expected[at] : "-").isEqualTo(-1);
  }

  /** Checks that every extent reported as reading zeros does read zeros, and the extents tile the device. */
  public static void assertAllocationReadsTrue(BlockDevice d, byte[] content) throws IOException {
    long pos = 0;
    for (Extent e : d.allocation(0, d.size())) {
      assertThat(e.offset()).isEqualTo(pos);
      if (e.kind().readsAsZeros()) {
        for (long p = e.offset(); p < e.end(); p++) {
          if (content[(int) p] != 0) {
            throw new AssertionError(d + " reports " + e + " but byte " + p + " is " + content[(int) p]);
          }
        }
      }
      pos = e.end();
    }
    assertThat(pos).isEqualTo(d.size());
  }
}
