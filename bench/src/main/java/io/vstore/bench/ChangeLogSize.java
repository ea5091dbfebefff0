package io.vstore.bench;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompactRangeOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;

/**
 * The change log's size after N flushes of one changed 4 KiB block each (a block among the first
 * 256 of the volume, at random), with one change id pinned at the start so that "changes since"
 * it must stay exact. Prints the log's rows, its key and value bytes, and its SST bytes on disk
 * after a full compaction of its column family. Run once as is and once with
 * {@code -Dvstore.cbt.prune=false} (the log as it was before pruning) and compare:
 * {@code bench/scripts/cbt-log-size.sh} does both and prints the ratio.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar io.vstore.bench.ChangeLogSize DIR [FLUSHES]
 * </pre>
 */
public final class ChangeLogSize {
  private static final int BLOCK = 4096;

  private ChangeLogSize() {}

  public static void main(String[] args) throws IOException, RocksDBException {
    if (args.length < 1 || args.length > 2) {
      System.err.println("usage: ChangeLogSize DIR [FLUSHES (default 1000000)]");
      System.exit(2);
    }
    int flushes = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
    Path base = Path.of(args[0]);
    Files.createDirectories(base);
    Path dir = Files.createTempDirectory(base, "cbtlog").resolve("ds");
    SplittableRandom r = new SplittableRandom(1);
    String pinned;
    long start = System.nanoTime();
    long expectedBlocks;
    try (Datastore ds = Datastore.create(dir, DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO), 0);
        Volume v = ds.createVolume("log", 64L << 20)) {
      pinned = ds.volumeInfo("log").changeId();
      ds.pinChangeId(pinned, "bench");
      ByteBuffer data = ByteBuffer.allocate(BLOCK);
      java.util.BitSet written = new java.util.BitSet();
      for (int i = 0; i < flushes; i++) {
        int block = r.nextInt(256);
        data.clear();
        data.putLong(0, i);
        v.write((long) block * BLOCK, data);
        v.flush();
        written.set(block);
      }
      expectedBlocks = written.cardinality();
      long reported = ds.changedAreas("log", pinned, 0, v.size()).extents().stream()
          .mapToLong(e -> e.length() / BLOCK).sum();
      if (reported != expectedBlocks) {
        throw new IllegalStateException("changes since the pinned id report " + reported + " blocks, " + expectedBlocks
            + " were written");
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long[] size = measure(dir.resolve("meta"));
    System.out.printf("pruning=%s flushes=%d seconds=%.1f rows=%d logicalBytes=%d sstBytes=%d exactSincePin=true%n",
        System.getProperty("vstore.cbt.prune", "true"), flushes, seconds, size[0], size[1], size[2]);
  }

  /** Returns the change log's rows, key and value bytes, and SST bytes after compacting it. */
  private static long[] measure(Path meta) throws RocksDBException {
    RocksDB.loadLibrary();
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (ColumnFamilyOptions cf = new ColumnFamilyOptions(); DBOptions db = new DBOptions()) {
      List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
      for (String name : List.of("default", "maps", "records", "changes")) {
        descriptors.add(new ColumnFamilyDescriptor(name.getBytes(StandardCharsets.UTF_8), cf));
      }
      try (RocksDB rocks = RocksDB.open(db, meta.toString(), descriptors, handles)) {
        ColumnFamilyHandle changes = handles.get(3);
        // Forced down to the bottom level, so that the deleted rows' tombstones go too, as they eventually would.
        try (CompactRangeOptions all = new CompactRangeOptions()
            .setBottommostLevelCompaction(CompactRangeOptions.BottommostLevelCompaction.kForce)) {
          rocks.compactRange(changes, null, null, all);
        }
        long rows = 0;
        long bytes = 0;
        try (RocksIterator it = rocks.newIterator(changes)) {
          for (it.seekToFirst(); it.isValid(); it.next()) {
            rows++;
            bytes += it.key().length + it.value().length;
          }
        }
        long sst = rocks.getLongProperty(changes, "rocksdb.total-sst-files-size");
        handles.forEach(ColumnFamilyHandle::close);
        return new long[] {rows, bytes, sst};
      }
    }
  }
}
