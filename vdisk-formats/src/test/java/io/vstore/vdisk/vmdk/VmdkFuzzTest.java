package io.vstore.vdisk.vmdk;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.blockstore.Extent;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.DeviceBytes;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzzes the VMDK parsers: the descriptor, the sparse header with its grain directory and
 * tables, the streamOptimized markers and footer, and SESparse headers and tables. Malformed input may only raise
 * IOException subclasses, never a runtime exception, a hang or a huge allocation. The seeds in
 * {@code VmdkFuzzTestInputs/} are tiny valid images ({@code make-fuzz-seeds.py}) and descriptors.
 */
class VmdkFuzzTest {
  private static final ImageChainOpener NO_PARENTS = (p, f) -> {
    throw new IOException("fuzz: parent " + p + " not opened");
  };

  @FuzzTest(maxDuration = "30s")
  void descriptor(byte[] data) {
    Descriptor d;
    try {
      d = Descriptor.parse(new String(data, StandardCharsets.UTF_8), "fuzz");
    } catch (CorruptImageException expected) {
      return;
    }
    try {
      Descriptor again = Descriptor.parse(d.toText(), "fuzz (rewritten)");
      assertThat(again.extents()).hasSameSizeAs(d.extents());
      assertThat(again.cid()).isEqualTo(d.cid());
    } catch (CorruptImageException e) {
      throw new AssertionError("a descriptor we wrote does not parse: " + e.getMessage(), e);
    }
  }

  @FuzzTest(maxDuration = "30s")
  void sparseExtent(byte[] data) throws IOException {
    exercise(data);
  }

  @FuzzTest(maxDuration = "30s")
  void streamOptimized(byte[] data) throws IOException {
    if (data.length >= 16) {
      GrainMarker m = GrainMarker.read(ByteBuffer.wrap(data));
      assertThat(m.size() == 0 || m.type() == GrainMarker.TYPE_GRAIN).isTrue();
    }
    exercise(data);
  }

  @FuzzTest(maxDuration = "30s")
  void seSparse(byte[] data) throws IOException {
    Path dir = Files.createTempDirectory("vmdk-fuzz");
    Path extent = dir.resolve("d-sesparse.vmdk");
    Path descriptor = dir.resolve("d.vmdk");
    try {
      Files.write(extent, data);
      Files.writeString(descriptor, "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType=\"seSparse\"\n"
          + "RW 64 SESPARSE \"d-sesparse.vmdk\"\n");
      try (DiskImage d = VmdkTesting.FORMAT.open(descriptor, true, NO_PARENTS)) {
        DeviceBytes.readAll(d);
        for (Extent e : d.allocation(0, d.size())) {
          assertThat(e.length()).isPositive();
        }
      } catch (IOException expected) {
        // Malformed input: a checked, descriptive error is the required outcome.
      }
      try {
        VmdkTesting.FORMAT.check(descriptor);
      } catch (IOException expected) {
        // Same.
      }
    } finally {
      Files.deleteIfExists(extent);
      Files.deleteIfExists(descriptor);
      Files.deleteIfExists(dir);
    }
  }

  private static void exercise(byte[] data) throws IOException {
    Path dir = Files.createTempDirectory("vmdk-fuzz");
    Path file = dir.resolve("fuzz.vmdk");
    try {
      Files.write(file, data);
      try (DiskImage d = VmdkTesting.FORMAT.open(file, true, NO_PARENTS)) {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        d.read(0, buf.limit((int) Math.min(buf.capacity(), d.size())));
        long tail = Math.max(0, d.size() - 8192);
        d.read(tail, buf.clear().limit((int) (d.size() - tail)));
        for (Extent e : d.allocation(0, Math.min(d.size(), 1L << 30))) {
          assertThat(e.length()).isPositive();
        }
        d.info();
      } catch (IOException expected) {
        // Malformed input: a checked, descriptive error is the required outcome.
      }
      try {
        VmdkTesting.FORMAT.check(file);
      } catch (IOException expected) {
        // Same.
      }
    } finally {
      Files.deleteIfExists(file);
      Files.deleteIfExists(dir);
    }
  }
}
