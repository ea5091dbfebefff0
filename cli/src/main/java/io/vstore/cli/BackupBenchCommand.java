package io.vstore.cli;

import io.vstore.backup.repo.Speeds;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vstore backup bench}: this machine's per-chunk speeds, one thread, 64 KiB chunks. */
@Command(name = "bench", description = "Print this machine's speeds (one thread, 64 KiB chunks) at what a backup "
    + "does to each chunk: HMAC-SHA256 chunk ids, zstd and LZ4 compression both ways on text-like and VM-like data, "
    + "AES-256-GCM seal and open. JSON: [{\"operation\", \"data\", \"mbPerSecond\", \"ratio\"}].")
final class BackupBenchCommand implements Callable<Integer> {
  @Option(names = "--millis", paramLabel = "MS", description = "Time per measurement (default 300).")
  long millis = 300;
  @Mixin OutputOptions output;

  @Override
  public Integer call() {
    if (millis < 10 || millis > 60_000) {
      throw new IllegalArgumentException("--millis " + millis + " out of range 10..60000");
    }
    output.print(Speeds.measure(millis), BackupBenchCommand::print);
    return 0;
  }

  static void print(PrintWriter out, List<Speeds.Result> results) {
    out.printf("%-22s %-5s %12s %7s%n", "OPERATION", "DATA", "MB/s", "RATIO");
    for (Speeds.Result r : results) {
      out.printf("%-22s %-5s %12.0f %7.2f%n", r.operation(), r.data(), r.mbPerSecond(), r.ratio());
    }
  }
}
