package io.vstore.bench;

import io.vstore.backup.repo.Speeds;
import java.util.List;

/**
 * Compares zstd (levels 1 and 3) with LZ4 on 64 KiB chunks of text-like and VM-like data, with the
 * other per-chunk costs of a backup (HMAC-SHA256 ids, AES-256-GCM) beside them, and prints a
 * Markdown table for bench/RESULTS.md. One thread; {@code vstore backup bench} prints the same.
 *
 * <p>Run: {@code java -cp ... io.vstore.bench.ChunkCompressionBench [millisPerMeasurement]}.
 */
public final class ChunkCompressionBench {
  private ChunkCompressionBench() {}

  /** Runs the measurements and prints the table. */
  public static void main(String[] args) {
    long millis = args.length > 0 ? Long.parseLong(args[0]) : 1000;
    List<Speeds.Result> results = Speeds.measure(millis);
    System.out.println("| operation | data | MB/s | ratio |");
    System.out.println("|---|---|---:|---:|");
    for (Speeds.Result r : results) {
      System.out.printf("| %s | %s | %.0f | %.2f |%n", r.operation(), r.data(), r.mbPerSecond(), r.ratio());
    }
  }
}
