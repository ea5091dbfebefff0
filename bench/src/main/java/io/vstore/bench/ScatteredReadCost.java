package io.vstore.bench;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a 4 KiB random read of {@link ScatteredExtentsBench}'s volume costs once its metadata is
 * warm and its data is not in the page cache (the 10 M-extent case on a machine whose memory does
 * not hold the data, at a scale that fits the disk): the volume is built once in {@code DIR/ds}
 * (kept, and reused by later runs), reopened, left until its metadata warmer stops adding pages,
 * the page cache is dropped (as root), then two threads read for {@code SECONDS}. Prints the rate
 * and, per read, the read system calls and the bytes brought from the disk
 * ({@code /proc/self/io}). {@code bench/scripts/scattered-read-cost.sh} runs it beside fio on the
 * same segment files in the same cache state.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar io.vstore.bench.ScatteredReadCost DIR [EXTENTS (default 2000000)] [SECONDS (default 10)]
 * </pre>
 */
public final class ScatteredReadCost {
  private static final int BLOCK = 4096;
  /** The warmer is taken as done once the cache has not grown for this long. */

  private ScatteredReadCost() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 3) {
      System.err.println("usage: ScatteredReadCost DIR [EXTENTS] [SECONDS]");
      System.exit(2);
    }
    Path dir = Path.of(args[0]).resolve("ds");
    long extents = args.length > 1 ? Long.parseLong(args[1]) : 2_000_000L;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    DatastoreOptions options = DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
    if (!Files.exists(dir)) {
      build(dir, options, extents);
    }
    try (Datastore ds = Datastore.open(dir, options)) {
      Volume v = ds.volume("scattered");
      if (v.size() != 2 * extents * BLOCK) {
        throw new IllegalArgumentException(dir + " holds a volume of " + v.size() + " bytes, not one of " + extents
            + " extents: use another DIR");
      }
      long warm = ScatteredExtentsBench.awaitWarm(ds);
      System.out.printf("metadata warm after %.1f s: %.1f MiB of pages%n", warm / 1e9,
          ds.info().metadataCache().used() / 1048576.0);
      dropPageCache();
      long[] before = io();
      LongAdder done = new LongAdder();
      long deadline = System.nanoTime() + seconds * 1_000_000_000L;
      ScatteredExtentsBench.onThreads(100, (id, r, buf) -> {
        while (System.nanoTime() < deadline) {
          v.read(ScatteredExtentsBench.blockOf(r.nextLong(extents), extents) * BLOCK, buf.clear());
          done.increment();
        }
      });
      long[] after = io();
      double n = done.sum();
      System.out.printf("%,d extents, page cache dropped: 4 KiB random read %.0f/s; per read %.2f read system calls, %.0f bytes from the disk%n",
          extents, n / seconds, (after[0] - before[0]) / n, (after[1] - before[1]) / n);
    }
  }

  private static void build(Path dir, DatastoreOptions options, long extents) throws Exception {
    long start = System.nanoTime();
    byte[] pool = ScatteredExtentsBench.compressiblePool();
    try (Datastore ds = Datastore.create(dir, options, 0)) {
      Volume v = ds.createVolume("scattered", 2 * extents * BLOCK);
      ScatteredExtentsBench.onThreads(7, (id, r, buf) -> {
        for (long i = id; i < extents; i += ScatteredExtentsBench.THREADS) {
          v.write(ScatteredExtentsBench.blockOf(i, extents) * BLOCK, ScatteredExtentsBench.slice(pool, r, buf));
        }
      });
      v.flush();
    }
    System.out.printf("%,d extents written in %.1f s%n", extents, (System.nanoTime() - start) / 1e9);
  }

  private static void dropPageCache() {
    try {
      Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "1");
    } catch (IOException e) {
      System.out.println("page cache NOT dropped (" + e + "): run as root for the cold figure");
    }
  }

  /** Returns this process's {read system calls, bytes read from storage} so far. */
  static long[] io() throws IOException {
    long[] out = new long[2];
    for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
      if (line.startsWith("syscr:")) {
        out[0] = Long.parseLong(line.substring(6).trim());
      } else if (line.startsWith("read_bytes:")) {
        out[1] = Long.parseLong(line.substring(11).trim());
      }
    }
    return out;
  }
}
