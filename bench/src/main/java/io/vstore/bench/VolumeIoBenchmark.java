package io.vstore.bench;

import io.vstore.blockstore.crypto.KeySource;
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
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 4 KiB random and 1 MiB sequential reads and writes on a datastore volume, with incompressible
 * data, with no snapshots and with 100 snapshots behind the volume, on a plain and on an encrypted
 * datastore. The datastore lives in {@code -Dvstore.bench.dir} (default: the system temp directory),
 * so it can be put on the same file system as the fio run it is compared with.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@State(Scope.Benchmark)
public class VolumeIoBenchmark {
  static final int SMALL = 4096;
  static final int LARGE = 1 << 20;

  /** Volume size: the range random I/O spreads over. */
  @Param("4294967296")
  public long size;

  /** Bytes written before the read benchmarks run, so reads hit data. */
  @Param("1073741824")
  public long prefill;

  /** Snapshots taken before measuring, between rounds of random 4 KiB writes so their deltas hold data. */
  @Param({"0", "100"})
  public int snapshots;

  /** Whether the datastore is encrypted (every record sealed with AES-256-GCM): issue 17's floors compare the two. */
  @Param({"false", "true"})
  public boolean encrypted;

  private Path dir;
  private Datastore store;
  private Volume volume;
  private byte[] pool;
  private long sequential;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    Path base = Path.of(System.getProperty("vstore.bench.dir", System.getProperty("java.io.tmpdir")));
    Files.createDirectories(base);
    dir = Files.createTempDirectory(base, "vstore-jmh");
    store = Datastore.create(dir.resolve("ds"), DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO)
        .withKeys(encrypted ? KeySource.passphrase("bench") : null), 0, encrypted);
    volume = store.createVolume("bench", size);
    pool = new byte[64 << 20];
    new SplittableRandom(1).nextBytes(pool);
    for (long pos = 0; pos < prefill; pos += LARGE) {
      volume.write(pos, ByteBuffer.wrap(pool, (int) (pos % (pool.length - LARGE)) & ~4095, LARGE));
    }
    volume.flush();
    // The same 100 rounds of 1,000 random writes either way, so that both cases read the same
    // fragmented layout; only the snapshots between the rounds differ.
    SplittableRandom r = new SplittableRandom(2);
    for (int i = 0; i < 100; i++) {
      for (int w = 0; w < 1000; w++) {
        volume.write(r.nextLong(prefill / SMALL) * SMALL, ByteBuffer.wrap(pool, r.nextInt(pool.length / SMALL) * SMALL, SMALL));
      }
      if (i < snapshots) {
        store.createSnapshot("bench", "s" + i);
      }
    }
    volume.flush();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    volume.close();
    store.close();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }

  /** Per-thread scratch buffers and random stream, so the measured path allocates nothing here. */
  @State(Scope.Thread)
  public static class Buffers {
    final SplittableRandom random = new SplittableRandom(Thread.currentThread().threadId());
    final ByteBuffer small = ByteBuffer.allocateDirect(SMALL);
    final ByteBuffer large = ByteBuffer.allocateDirect(LARGE);
  }

  private ByteBuffer slice(Buffers b, int length) {
    int at = b.random.nextInt((pool.length - length) / SMALL) * SMALL;
    return ByteBuffer.wrap(pool, at, length);
  }

  @Benchmark
  public void randomWrite4k(Buffers b) throws IOException {
    volume.write(b.random.nextLong(size / SMALL) * SMALL, slice(b, SMALL));
  }

  @Benchmark
  public ByteBuffer randomRead4k(Buffers b) throws IOException {
    b.small.clear();
    volume.read(b.random.nextLong(prefill / SMALL) * SMALL, b.small);
    return b.small;
  }

  @Benchmark
  public void sequentialWrite1m(Buffers b) throws IOException {
    long pos;
    synchronized (this) {
      pos = sequential;
      sequential = (sequential + LARGE) % size;
    }
    volume.write(pos, slice(b, LARGE));
  }

  @Benchmark
  public ByteBuffer sequentialRead1m(Buffers b) throws IOException {
    long pos;
    synchronized (this) {
      pos = sequential % prefill;
      sequential = (sequential + LARGE) % size;
    }
    b.large.clear();
    volume.read(pos, b.large);
    return b.large;
  }
}
