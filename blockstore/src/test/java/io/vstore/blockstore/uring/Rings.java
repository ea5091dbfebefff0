package io.vstore.blockstore.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What the io_uring tests share: the availability gate and descriptor counting. */
final class Rings {
  private Rings() {}

  /**
   * Returns true when io_uring works here. When it does not, fails with the reason, unless the
   * environment declares a kernel without io_uring (VSTORE_NO_IO_URING=1): then it checks that the
   * binding says so with a reason, and returns false so the caller stops there.
   */
  static boolean required() {
    if (IoUring.available()) {
      return true;
    }
    String reason = IoUring.unavailableReason();
    if ("1".equals(System.getenv("VSTORE_NO_IO_URING"))) {
      assertThat(reason).as("reason io_uring is unavailable").isNotBlank();
      return false;
    }
    return fail("io_uring unavailable: " + reason
        + " (set VSTORE_NO_IO_URING=1 only where the kernel really refuses io_uring)");
  }

  /**
   * Counts this process's io_uring descriptors. Other descriptors come and go with whatever else
   * runs in the test JVM (RocksDB's background threads of an earlier test, for one).
   */
  static long ringDescriptors() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.filter(fd -> {
        try {
          return Files.readSymbolicLink(fd).toString().contains("io_uring");
        } catch (IOException e) {
          return false; // closed while listing
        }
      }).count();
    }
  }

  /** Counts this process's io_uring ring mappings (the JVM maps and unmaps other memory at will). */
  static long ringMappings() throws IOException {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
      return lines.filter(l -> l.contains("io_uring")).count();
    }
  }
}
