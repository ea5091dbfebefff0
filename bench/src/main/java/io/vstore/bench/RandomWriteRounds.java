package io.vstore.bench;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Rounds of 200,000 random 4 KiB writes of incompressible data on a fresh 4 GiB volume, one
 * thread, printing each round's rate: shows how throughput holds up as the block map and the
 * segment files grow, which JMH's short iterations hide. The flush threshold can be raised out of
 * reach to take metadata commits out of the picture.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar io.vstore.bench.RandomWriteRounds DIR [ROUNDS] [FLUSH_THRESHOLD]
 * </pre>
 */
public final class RandomWriteRounds {
  private static final int WRITES_PER_ROUND = 200_000;
  private static final int BLOCK = 4096;
  private static final long SIZE = 4L << 30;

  private RandomWriteRounds() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1 || args.length > 3) {
      System.err.println("usage: RandomWriteRounds DIR [ROUNDS (default 4)] [FLUSH_THRESHOLD (default: the datastore's)]");
      System.exit(2);
    }
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    DatastoreOptions options = DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
    if (args.length > 2) {
      options = options.withFlushThreshold(Integer.parseInt(args[2]));
    }
    Path base = Path.of(args[0]);
    Files.createDirectories(base);
    Path dir = Files.createTempDirectory(base, "rounds");
    try {
      try (Datastore ds = Datastore.create(dir.resolve("ds"), options, 0)) {
        Volume v = ds.createVolume("rounds", SIZE);
        byte[] pool = new byte[64 << 20];
        new SplittableRandom(1).nextBytes(pool);
        SplittableRandom r = new SplittableRandom(2);
        for (int round = 0; round < rounds; round++) {
          long start = System.nanoTime();
          for (int i = 0; i < WRITES_PER_ROUND; i++) {
            v.write(r.nextLong(SIZE / BLOCK) * BLOCK, ByteBuffer.wrap(pool, r.nextInt(pool.length / BLOCK) * BLOCK, BLOCK));
          }
          double seconds = (System.nanoTime() - start) / 1e9;
          System.out.printf("round %d: %.1fk writes/s%n", round, WRITES_PER_ROUND / seconds / 1000);
        }
        long start = System.nanoTime();
        v.flush();
        System.out.printf("final flush: %.0f ms%n", (System.nanoTime() - start) / 1e6);
      }
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
          Files.delete(p);
        }
      }
    }
  }
}
