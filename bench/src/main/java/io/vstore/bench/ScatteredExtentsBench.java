package io.vstore.bench;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * Issue 13's scale floor through the Java API: a volume holding N scattered 4 KiB extents of
 * compressible data (every other block, written in a scrambled order, so that no two extents
 * merge), against the same made with 10,000 extents. Prints the heap after a full GC once
 * written, the time to reopen the datastore and serve the first read, and 4 KiB random read and
 * write rates (two threads, over the written blocks) on both, with their ratio, twice: right after
 * the reopen, while the metadata warmer still loads the block map in the background (at 10 M
 * extents that takes tens of seconds, and reads and writes that miss the cache seek RocksDB), and
 * once the warmer is done, the state of a datastore that has been open for a while.
 *
 * <p>Those two compare unlike cache states of the data: segments are written with
 * {@code O_DIRECT}, so right after writing none of the 10 M case's ~14 GB is in the page cache,
 * while the 10 k case's 40 MB is read into it within the first phase: its reads are page-cache
 * reads, the other's disk reads. The floor is about the metadata's scale, so a third phase
 * compares like with like: every segment file is read once (the residency before and after is
 * printed; the machine's memory must hold the data, which the bench checks against
 * {@code MemAvailable}), then the same reads and writes run with both volumes' data in the page
 * cache. Each phase also prints the bytes read from the disk per read ({@code /proc/self/io}).
 * A first 10,000-extent pass, not compared, lets the JIT compile the I/O paths beforehand.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar io.vstore.bench.ScatteredExtentsBench DIR [EXTENTS (default 10000000)] [SECONDS (default 10)]
 * </pre>
 */
public final class ScatteredExtentsBench {
  private static final int BLOCK = 4096;
  static final int THREADS = 2;
  private static final Duration SETTLED = Duration.ofSeconds(3);

  private ScatteredExtentsBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 3) {
      System.err.println("usage: ScatteredExtentsBench DIR [EXTENTS] [SECONDS]");
      System.exit(2);
    }
    long extents = args.length > 1 ? Long.parseLong(args[1]) : 10_000_000L;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    Path base = Path.of(args[0]);
    Files.createDirectories(base);
    // The JIT compiles the I/O paths during whichever run comes first: a pass that is not compared
    // puts both compared runs in the same state (without it the 10,000 case ran partly interpreted).
    System.out.println("warm-up pass (not compared):");
    run(base, 10_000, Math.min(seconds, 3), false);
    System.out.println();
    double[] small = run(base, 10_000, seconds, false);
    double[] large = run(base, extents, seconds, true);
    System.out.printf("%n%,d extents against 10,000, right after the reopen: random read %.2fx, random write %.2fx%n",
        extents, large[0] / small[0], large[1] / small[1]);
    System.out.printf("%,d extents against 10,000, metadata warm: random read %.2fx, random write %.2fx%n",
        extents, large[2] / small[2], large[3] / small[3]);
    System.out.printf("%,d extents against 10,000, like with like (metadata warm, both volumes' data in the page cache):"
        + " random read %.2fx, random write %.2fx (floor 0.9x each)%n", extents, large[4] / small[4], large[5] / small[5]);
  }

  /**
   * Builds, measures and deletes one datastore; returns {read IOPS, write IOPS} right after the
   * reopen, then the same once the metadata is warm, then once its data is in the page cache too.
   */
  private static double[] run(Path base, long extents, int seconds, boolean report) throws Exception {
    Path dir = Files.createTempDirectory(base, "scattered");
    DatastoreOptions options = DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
    long size = 2 * extents * BLOCK;
    byte[] pool = compressiblePool();
    try {
      long start = System.nanoTime();
      try (Datastore ds = Datastore.create(dir.resolve("ds"), options, 0)) {
        Volume v = ds.createVolume("scattered", size);
        parallel(extents, (i, r, buf) -> v.write(blockOf(i, extents) * BLOCK, slice(pool, r, buf)));
        v.flush();
        System.out.printf("%,d extents written in %.1f s%n", extents, (System.nanoTime() - start) / 1e9);
        if (report) {
          System.out.printf("heap after a full GC: %.1f MiB (of which this program's data pool: %d MiB)%n",
              heapAfterGc(), pool.length >> 20);
          var cache = ds.info().metadataCache();
          System.out.printf("metadata pages held: %.1f MiB of a %d MiB budget, %,d evictions%n",
              cache.used() / 1048576.0, cache.budget() >> 20, cache.evictions());
        }
      }
      long open = System.nanoTime();
      try (Datastore ds = Datastore.open(dir.resolve("ds"), options)) {
        Volume v = ds.volume("scattered");
        ByteBuffer one = ByteBuffer.allocateDirect(BLOCK);
        v.read(blockOf(extents / 2, extents) * BLOCK, one);
        double firstRead = (System.nanoTime() - open) / 1e6;
        double[] cold = randomRates(v, extents, pool, seconds);
        System.out.printf("%,d extents: reopen and first read %.0f ms; right after: 4 KiB random read %.0f/s, write %.0f/s"
            + " (%.0f bytes from the disk per read)%n", extents, firstRead, cold[0], cold[1], cold[2]);
        long warm = awaitWarm(ds);
        double[] warmRates = randomRates(v, extents, pool, seconds);
        System.out.printf("%,d extents: metadata warm %.1f s after the reads and writes; then 4 KiB random read %.0f/s,"
            + " write %.0f/s (%.0f bytes from the disk per read)%n", extents, warm / 1e9, warmRates[0], warmRates[1],
            warmRates[2]);
        SegmentCache.readAll(dir.resolve("ds").resolve("segments"));
        double[] cached = randomRates(v, extents, pool, seconds);
        System.out.printf("%,d extents: metadata warm, data in the page cache: 4 KiB random read %.0f/s, write %.0f/s"
            + " (%.0f bytes from the disk per read)%n", extents, cached[0], cached[1], cached[2]);
        if (report) {
          var cache = ds.info().metadataCache();
          System.out.printf("metadata pages held after the reads and writes: %.1f MiB, %,d evictions%n",
              cache.used() / 1048576.0, cache.evictions());
          System.out.printf("heap after a full GC, after the reads and writes: %.1f MiB%n", heapAfterGc());
        }
        return new double[] {cold[0], cold[1], warmRates[0], warmRates[1], cached[0], cached[1]};
      }
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
          Files.delete(p);
        }
      }
    }
  }

  /**
   * Waits until the metadata cache has not grown for {@link #SETTLED} (its warmer is done); returns
   * the nanoseconds until it last grew.
   */
  static long awaitWarm(Datastore ds) throws InterruptedException {
    long start = System.nanoTime();
    long used = -1;
    long since = start;
    while (System.nanoTime() - since < SETTLED.toNanos()) {
      long now = ds.info().metadataCache().used();
      if (now != used) {
        used = now;
        since = System.nanoTime();
      }
      Thread.sleep(200);
    }
    return since - start;
  }

  /** Block of the i-th extent: every other block, in a scrambled order (a multiplicative permutation). */
  static long blockOf(long i, long extents) {
    // A prime above any count used here is coprime with it: i -> i * p mod n is a permutation.
    long p = 2_147_483_647L;
    return 2 * ((i * p) % extents);
  }

  /** 64 MiB of data that LZ4 compresses to about a third: random words repeated. */
  static byte[] compressiblePool() {
    byte[] pool = new byte[64 << 20];
    SplittableRandom r = new SplittableRandom(1);
    byte[] word = new byte[16];
    for (int i = 0; i < pool.length; i += 64) {
      r.nextBytes(word);
      for (int k = 0; k < 64; k += 16) {
        System.arraycopy(word, 0, pool, i + k, 16);
      }
    }
    return pool;
  }

  static ByteBuffer slice(byte[] pool, SplittableRandom r, ByteBuffer buf) {
    int at = r.nextInt(pool.length / BLOCK) * BLOCK;
    return buf.clear().put(pool, at, BLOCK).flip();
  }

  private static double heapAfterGc() {
    System.gc();
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1048576.0;
  }

  @FunctionalInterface
  interface Op {
    void run(long i, SplittableRandom r, ByteBuffer buf) throws IOException;
  }

  /** Runs {@code op} for i in [0, n) on {@link #THREADS} threads. */
  private static void parallel(long n, Op op) throws Exception {
    onThreads(7, (id, r, buf) -> {
      for (long i = id; i < n; i += THREADS) {
        op.run(i, r, buf);
      }
    });
  }

  /**
   * Returns {reads, writes} per second of 4 KiB at random written blocks of {@code v}, {@code seconds}
   * each, and the bytes the reads brought from the disk, per read.
   */
  private static double[] randomRates(Volume v, long extents, byte[] pool, int seconds) throws Exception {
    long diskBefore = ScatteredReadCost.io()[1];
    double read = rate(seconds, (i, r, buf) -> v.read(blockOf(r.nextLong(extents), extents) * BLOCK, buf.clear()));
    double diskPerRead = (ScatteredReadCost.io()[1] - diskBefore) / (read * seconds);
    double write = rate(seconds, (i, r, buf) -> v.write(blockOf(r.nextLong(extents), extents) * BLOCK,
        slice(pool, r, buf)));
    return new double[] {read, write, diskPerRead};
  }

  /** Runs {@code op} on {@link #THREADS} threads for {@code seconds}; returns operations per second. */
  private static double rate(int seconds, Op op) throws Exception {
    LongAdder done = new LongAdder();
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    onThreads(100, (id, r, buf) -> {
      while (System.nanoTime() < deadline) {
        op.run(0, r, buf);
        done.increment();
      }
    });
    return done.sum() / (double) seconds;
  }

  /** Runs {@code body} on {@link #THREADS} platform threads, each with its own random numbers and buffer. */
  static void onThreads(int seed, Op body) throws Exception {
    Thread[] threads = new Thread[THREADS];
    Exception[] failure = new Exception[1];
    for (int t = 0; t < THREADS; t++) {
      int id = t;
      threads[t] = Thread.ofPlatform().start(() -> {
        try {
          body.run(id, new SplittableRandom(seed + id), ByteBuffer.allocateDirect(BLOCK));
        } catch (Exception e) {
          failure[0] = e;
        }
      });
    }
    for (Thread t : threads) {
      t.join();
    }
    if (failure[0] != null) {
      throw failure[0];
    }
  }
}
