package io.vstore.vdisk.qcow2;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.blockstore.Extent;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Feeds arbitrary bytes to the qcow2 header, L1, L2 and refcount parsers (open, read, allocation,
 * check). Seeds are small images made by qemu-img (see the Inputs directory). Only IOExceptions
 * (CorruptImageException, UnsupportedFormatException) may come out: anything else is a finding.
 */
class Qcow2FuzzTest {
  private static final ImageChainOpener NO_BACKING = (path, format) -> {
    throw new IOException("fuzz: backing files are not followed (" + path + ")");
  };

  @FuzzTest(maxDuration = "30s")
  void openReadAndCheck(byte[] data) throws Exception {
    Path file = Files.createTempFile("qcow2-fuzz", ".qcow2");
    try {
      Files.write(file, data);
      try (DiskImage img = Qcow2Image.open(file, true, NO_BACKING, false)) {
        img.info();
        long span = Math.min(img.size(), 16L << 20);
        if (span > 0) {
          long covered = 0;
          for (Extent e : img.allocation(0, span)) {
            covered += e.length();
          }
          if (covered != span) {
            throw new AssertionError("allocation covers " + covered + " of " + span);
          }
          img.read(0, ByteBuffer.allocate((int) Math.min(span, 1 << 20)));
          img.read(img.size() - 1, ByteBuffer.allocate(1));
        }
      } catch (IOException expected) {
        // a clear error is the right answer to a malformed image
      }
      try {
        Qcow2Check.check(file);
      } catch (IOException expected) {
        // the header itself was refused
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
