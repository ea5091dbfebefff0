package io.vstore.bench;

import io.vstore.blockstore.crypto.KeySource;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The reading thread's CPU time per 4 KiB random read and per 1 MiB sequential read on a plain and
 * an encrypted datastore, laid out as {@link VolumeIoBenchmark} lays them out (1 MiB writes, then
 * random 4 KiB overwrites, 1.5 per block), alternating the two in rounds: on a machine shared with
 * other work, wall-clock rates swing by 10x while CPU time per read stays comparable. The
 * sequential figure is the reader's own CPU: the parts helper threads open are not in it, which is
 * the point of opening them there; JMH's {@code sequentialRead1m} gives the wall-clock effect.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar io.vstore.bench.EncryptedReadCost DIR [PREFILL_MIB] [ROUNDS]
 * </pre>
 */
public final class EncryptedReadCost {
  private static final int BLOCK = 4096;
  private static final int LARGE = 1 << 20;
  private static final int SMALL_READS = 5000;
  private static final int LARGE_READS = 30;
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private EncryptedReadCost() {}

  /** Runs the comparison; arguments: directory, prefill in MiB (128), rounds (25). */
  public static void main(String[] args) throws IOException {
    Path base = Files.createTempDirectory(Path.of(args[0]), "read-cost");
    long prefill = (args.length > 1 ? Long.parseLong(args[1]) : 128) << 20;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 25;
    byte[] pool = new byte[64 << 20];
    new SplittableRandom(1).nextBytes(pool);
    Datastore[] stores = new Datastore[2];
    Volume[] volumes = new Volume[2];
    try {
      for (int e = 0; e < 2; e++) {
        boolean encrypted = e == 1;
        stores[e] = Datastore.create(base.resolve(encrypted ? "encrypted" : "plain"), DatastoreOptions.defaults()
            .withCleanerInterval(Duration.ZERO).withKeys(encrypted ? KeySource.passphrase("bench") : null), 0, encrypted);
        volumes[e] = stores[e].createVolume("bench", 4L << 30);
        fill(volumes[e], prefill, pool);
      }
      double[][] small = new double[2][rounds];
      double[][] large = new double[2][rounds];
      ByteBuffer smallBuffer = ByteBuffer.allocateDirect(BLOCK);
      ByteBuffer largeBuffer = ByteBuffer.allocateDirect(LARGE);
      SplittableRandom r = new SplittableRandom(3);
      long[] sequential = new long[2];
      for (int round = -1; round < rounds; round++) { // round -1 warms up
        for (int e = 0; e < 2; e++) {
          long start = THREADS.getCurrentThreadCpuTime();
          for (int i = 0; i < SMALL_READS; i++) {
            volumes[e].read(r.nextLong(prefill / BLOCK) * BLOCK, smallBuffer.clear());
          }
          long middle = THREADS.getCurrentThreadCpuTime();
          for (int i = 0; i < LARGE_READS; i++) {
            volumes[e].read(sequential[e], largeBuffer.clear());
            sequential[e] = (sequential[e] + LARGE) % prefill;
          }
          long end = THREADS.getCurrentThreadCpuTime();
          if (round >= 0) {
            small[e][round] = (middle - start) / 1e3 / SMALL_READS;
            large[e][round] = (end - middle) / 1e3 / LARGE_READS;
          }
        }
      }
      for (int e = 0; e < 2; e++) {
        Arrays.sort(small[e]);
        Arrays.sort(large[e]);
        System.out.printf("%-9s 4k random read: CPU min %.2f median %.2f us; 1m sequential read: reader CPU min %.0f median %.0f us%n",
            e == 1 ? "encrypted" : "plain", small[e][0], small[e][rounds / 2], large[e][0], large[e][rounds / 2]);
      }
      System.out.printf("plain / encrypted CPU, medians: 4k random %.2f, 1m sequential (reader) %.2f%n",
          small[0][rounds / 2] / small[1][rounds / 2], large[0][rounds / 2] / large[1][rounds / 2]);
    } finally {
      for (int e = 0; e < 2; e++) {
        if (volumes[e] != null) {
          volumes[e].close();
        }
        if (stores[e] != null) {
          stores[e].close();
        }
      }
      try (Stream<Path> files = Files.walk(base)) {
        for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
          Files.delete(p);
        }
      }
    }
  }

  /** Writes {@code prefill} bytes in 1 MiB writes, then random 4 KiB overwrites (1.5 per block), as VolumeIoBenchmark does. */
  private static void fill(Volume v, long prefill, byte[] pool) throws IOException {
    for (long pos = 0; pos < prefill; pos += LARGE) {
      v.write(pos, ByteBuffer.wrap(pool, (int) (pos % (pool.length - LARGE)) & ~(BLOCK - 1), LARGE));
    }
    v.flush();
    SplittableRandom r = new SplittableRandom(2);
    long writes = prefill / BLOCK * 100_000 / 65_536; // VolumeIoBenchmark: 100,000 over 65,536 blocks
    for (long w = 0; w < writes; w++) {
      v.write(r.nextLong(prefill / BLOCK) * BLOCK, ByteBuffer.wrap(pool, r.nextInt(pool.length / BLOCK) * BLOCK, BLOCK));
    }
    v.flush();
  }
}
