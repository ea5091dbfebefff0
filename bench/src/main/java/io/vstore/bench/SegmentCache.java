package io.vstore.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * Brings a datastore's segment files into the page cache by reading each once, for
 * {@link ScatteredExtentsBench}'s like-with-like phase, and says how much of them was resident
 * before and after: the store writes segments with {@code O_DIRECT}, so what was just written is
 * not cached, and a comparison of two volumes is only fair when their data is in the same state.
 */
final class SegmentCache {
  /** Residency is judged per chunk of this size (fully resident or not), as {@code fincore} would per page. */
  private static final int CHUNK = 1 << 20;

  private SegmentCache() {}

  /**
   * Reads every {@code .seg} file of {@code dir} once, sequentially through the page cache, and
   * prints the bytes, the time and the share resident before and after; refuses (prints why and
   * reads nothing) when the files exceed the memory available.
   */
  static void readAll(Path dir) throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".seg")).sorted().toList();
    }
    long bytes = 0;
    for (Path p : files) {
      bytes += Files.size(p);
    }
    long available = memAvailable();
    if (bytes > available) {
      System.out.printf("segment data NOT read into the page cache: %.1f GiB of segments, %.1f GiB of memory available%n",
          bytes / 1073741824.0, available / 1073741824.0);
      return;
    }
    double before = residentShare(files);
    long start = System.nanoTime();
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
    for (Path p : files) {
      try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
        long at = 0;
        for (int n; (n = ch.read(buf.clear(), at)) > 0; ) {
          at += n;
        }
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("segment data read into the page cache: %.2f GiB in %.1f s; resident before %.0f%%, after %.0f%%%n",
        bytes / 1073741824.0, seconds, 100 * before, 100 * residentShare(files));
  }

  /** Returns the share of {@code files}' 1 MiB chunks wholly in the page cache (mincore, via {@link MappedByteBuffer#isLoaded}). */
  private static double residentShare(List<Path> files) throws IOException {
    long chunks = 0;
    long resident = 0;
    for (Path p : files) {
      try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
        long size = ch.size();
        for (long at = 0; at < size; at += CHUNK) {
          MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, at, Math.min(CHUNK, size - at));
          chunks++;
          if (m.isLoaded()) {
            resident++;
          }
        }
      }
    }
    return chunks == 0 ? 1 : resident / (double) chunks;
  }

  /** Returns MemAvailable from {@code /proc/meminfo}, in bytes. */
  private static long memAvailable() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
      if (line.startsWith("MemAvailable:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
      }
    }
    throw new IOException("no MemAvailable in /proc/meminfo");
  }
}
