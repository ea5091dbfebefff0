package io.vstore.bench;

import io.vstore.blockstore.store.ChangedAreas;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code changedAreas} on a 1 TiB volume: with 1,000 scattered 4 KiB writes since the change id,
 * and with nothing changed since it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@State(Scope.Benchmark)
public class ChangeTrackingBenchmark {
  static final long SIZE = 1L << 40;
  private Path dir;
  private Datastore store;
  private String before;
  private String now;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    Path base = Path.of(System.getProperty("vstore.bench.dir", System.getProperty("java.io.tmpdir")));
    Files.createDirectories(base);
    dir = Files.createTempDirectory(base, "vstore-cbt");
    store = Datastore.create(dir.resolve("ds"), DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO), 0);
    try (Volume v = store.createVolume("big", SIZE)) {
      SplittableRandom r = new SplittableRandom(3);
      byte[] data = new byte[4096];
      // Some history first, so the change log is not empty before the change id.
      for (int i = 0; i < 5000; i++) {
        r.nextBytes(data);
        v.write(r.nextLong(SIZE / 4096) * 4096, ByteBuffer.wrap(data));
      }
      before = v.info().changeId();
      for (int i = 0; i < 1000; i++) {
        r.nextBytes(data);
        v.write(r.nextLong(SIZE / 4096) * 4096, ByteBuffer.wrap(data));
      }
      now = v.info().changeId();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    store.close();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }

  @Benchmark
  public ChangedAreas thousandScatteredChanges() throws IOException {
    ChangedAreas c = store.changedAreas("big", before, 0, SIZE);
    if (c.extents().size() < 990) {
      throw new IllegalStateException("expected about 1,000 changed extents, got " + c.extents().size());
    }
    return c;
  }

  @Benchmark
  public ChangedAreas nothingChanged() throws IOException {
    ChangedAreas c = store.changedAreas("big", now, 0, SIZE);
    if (!c.extents().isEmpty()) {
      throw new IllegalStateException("expected no changes, got " + c.extents().size());
    }
    return c;
  }
}
