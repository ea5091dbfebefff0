package io.vstore.vdisk.vhd;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.blockstore.Extent;
import io.vstore.vdisk.DiskImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzzes the VHD parsers (footer, dynamic header, BAT, locators) through open, read, allocation
 * and check: malformed input may only raise IOException subclasses (CorruptImageException and
 * friends), never a runtime exception, a hang or a huge allocation.
 */
class VhdFuzzTest {
  @FuzzTest(maxDuration = "20s")
  void openReadCheck(byte[] data) throws IOException {
    Path file = Files.createTempFile("vhd-fuzz", ".vhd");
    try {
      Files.write(file, data);
      exercise(file);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** Opens, reads and checks {@code file}, tolerating only the checked errors of bad input. */
  static void exercise(Path file) throws IOException {
    try (DiskImage d = VhdQemuTest.FORMAT.open(file, true, VhdQemuTest.CHAIN)) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 16);
      d.read(0, buf.limit((int) Math.min(buf.capacity(), d.size())));
      long tail = Math.max(0, d.size() - 4096);
      d.read(tail, buf.clear().limit((int) (d.size() - tail)));
      for (Extent e : d.allocation(0, Math.min(d.size(), 64L << 20))) {
        assert e.length() > 0;
      }
      d.info();
    } catch (IOException expected) {
      // Malformed input: a checked, descriptive error is the required outcome.
    }
    try {
      VhdQemuTest.FORMAT.check(file);
    } catch (IOException expected) {
      // Same.
    }
  }
}
