package io.vstore.vdisk.vhd;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.vdisk.ImageTesting;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Fuzzes the VHD parsers (footer, dynamic header, BAT, locators) through open, read, allocation
 * and check: malformed input may only raise IOException subclasses (CorruptImageException and
 * friends), never a runtime exception, a hang or a huge allocation.
 */
class VhdFuzzTest {
  @FuzzTest(maxDuration = "20s")
  void openReadCheck(byte[] data) throws IOException {
    ImageTesting.exerciseBytes(VhdQemuTest.FORMAT, data, ".vhd", true, VhdQemuTest.CHAIN, 64L << 20);
  }

  /** Opens, reads and checks {@code file}, tolerating only the checked errors of bad input. */
  static void exercise(Path file) throws IOException {
    ImageTesting.exercise(VhdQemuTest.FORMAT, file, true, VhdQemuTest.CHAIN, 64L << 20);
  }
}
