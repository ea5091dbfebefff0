package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.Cache;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteBufferManager;
import org.rocksdb.WriteOptions;

/**
 * The datastore's RocksDB instance, its column families and the memory both may use. Every write
 * goes through {@link #commit}, which is synced: RocksDB is only ever written at a flush, after
 * the segment bytes its new entries point at are durable. The one exception is
 * {@link #commitUnsynced}, for a batch that points at no segment bytes (a transplant's switch).
 *
 * <p>Memory: RocksDB's block cache and memtables share one native budget ({@link #ROCKSDB_MEMORY},
 * memtables at most half of it), and the metadata pages vstore decodes for its maps and record
 * states count against the {@link MetadataCache} on the heap. Neither grows with the data.
 */
final class MetaStore implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(MetaStore.class.getName());
  static {
    RocksDB.loadLibrary();
  }

  /** RocksDB's native memory: block cache and memtables together. */
  static final long ROCKSDB_MEMORY = 128L << 20;
  /**
   * The write-ahead log kept at most before RocksDB flushes the column families that hold on to its
   * oldest file. The default (four times every memtable's size, 1 GiB here) let the catalog, written
   * a little at every commit and hardly ever flushed, keep every log file alive: 160 MB of log at
   * 1 million extents, all of it replayed by the next open.
   */
  static final long MAX_WAL_BYTES = 64L << 20;
  /**
   * Change-log rows from this size on are kept in RocksDB's blob files, out of its table blocks. A
   * row of scattered writes takes 16 bytes a block (32 MB at 2 M extents once merged), and a table
   * block holding one was read and decompressed whole by every seek that passed it: the merges'
   * seeks at each flush, in every sorted run, and compactions rewrote it each time.
   */
  static final long LARGE_ROW = 16L << 10;

  private final Path dir;
  private final MetadataCache cache;
  private final Cache blockCache;
  private final WriteBufferManager writeBuffers;
  private final BloomFilter bloom;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  /** The change log's: {@link #cfOptions} with its large rows kept apart (see {@link #LARGE_ROW}). */
  private final ColumnFamilyOptions changesOptions;
  private final RocksDB db;
  private final List<ColumnFamilyHandle> handles = new ArrayList<>();
  private final WriteOptions syncWrite = new WriteOptions().setSync(true);
  private final WriteOptions unsyncedWrite = new WriteOptions();
  /** Reads of whole-table scans: their blocks are used once, so they do not go into the block cache. */
  private final ReadOptions scanReads = new ReadOptions().setFillCache(false);
  /** Catalog: volumes, counters, per-segment statistics. */
  final ColumnFamilyHandle catalog;
  /** Block maps: volume id + start block to a map entry. */
  final ColumnFamilyHandle maps;
  /** Records: segment id + offset to the record's reference state. */
  final ColumnFamilyHandle records;
  /** Change log: volume id + generation to the block ranges that generation changed. */
  final ColumnFamilyHandle changes;

  /** Opens (creating if missing) the metadata store in {@code dir} with the default cache budget. */
  MetaStore(Path dir) throws IOException {
    this(dir, DatastoreOptions.DEFAULT_METADATA_CACHE);
  }

  /** Opens (creating if missing) the metadata store in {@code dir}, its decoded pages held within {@code cacheBytes}. */
  MetaStore(Path dir, long cacheBytes) throws IOException {
    this.dir = dir;
    this.cache = new MetadataCache(cacheBytes);
    blockCache = new LRUCache(ROCKSDB_MEMORY);
    writeBuffers = new WriteBufferManager(ROCKSDB_MEMORY / 2, blockCache);
    bloom = new BloomFilter(10);
    BlockBasedTableConfig table = new BlockBasedTableConfig().setBlockCache(blockCache).setFilterPolicy(bloom)
        .setCacheIndexAndFilterBlocks(true).setPinL0FilterAndIndexBlocksInCache(true);
    cfOptions = new ColumnFamilyOptions().setTableFormatConfig(table).setWriteBufferSize(16L << 20)
        .setMaxWriteBufferNumber(4).setCompressionType(CompressionType.LZ4_COMPRESSION)
        .setLevelCompactionDynamicLevelBytes(true);
    changesOptions = new ColumnFamilyOptions(cfOptions).setEnableBlobFiles(true).setMinBlobSize(LARGE_ROW)
        .setBlobCompressionType(CompressionType.LZ4_COMPRESSION).setEnableBlobGarbageCollection(true);
    // Skipping the statistics update at open: otherwise the open reads the properties block of
    // every table file to refine compaction choices, a cost that grows with the metadata and is
    // paid by every command and every reopen; compaction works from the files' sizes without it.
    dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true)
        .setMaxBackgroundJobs(2).setKeepLogFileNum(4).setWriteBufferManager(writeBuffers)
        .setSkipStatsUpdateOnDbOpen(true).setMaxTotalWalSize(MAX_WAL_BYTES);
    List<ColumnFamilyDescriptor> descriptors = List.of(
        new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
        new ColumnFamilyDescriptor(bytes("maps"), cfOptions),
        new ColumnFamilyDescriptor(bytes("records"), cfOptions),
        new ColumnFamilyDescriptor(bytes("changes"), changesOptions));
    try {
      db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
    } catch (RocksDBException e) {
      closeOptions();
      throw new IOException("cannot open metadata store " + dir + ": " + e.getMessage(), e);
    }
    catalog = handles.get(0);
    maps = handles.get(1);
    records = handles.get(2);
    changes = handles.get(3);
  }

  private void closeOptions() {
    changesOptions.close();
    cfOptions.close();
    dbOptions.close();
    writeBuffers.close();
    blockCache.close();
    bloom.close();
  }

  /** Returns the budget of the decoded metadata pages. */
  MetadataCache cache() {
    return cache;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Returns the value of {@code key} in {@code cf}, or null. */
  byte[] get(ColumnFamilyHandle cf, byte[] key) throws IOException {
    try {
      return db.get(cf, key);
    } catch (RocksDBException e) {
      throw failure("read", e);
    }
  }

  /** Opens an iterator over {@code cf}; the caller closes it. */
  RocksIterator iterator(ColumnFamilyHandle cf) {
    return db.newIterator(cf);
  }

  /**
   * Opens an iterator over {@code cf} for a scan of many rows that should not push the lookups'
   * blocks out of RocksDB's block cache (the metadata warmer's); the caller closes it.
   */
  RocksIterator scanIterator(ColumnFamilyHandle cf) {
    return db.newIterator(cf, scanReads);
  }

  /** Opens an iterator over {@code cf} bounded by {@code options}; the caller closes both. */
  RocksIterator iterator(ColumnFamilyHandle cf, ReadOptions options) {
    return db.newIterator(cf, options);
  }

  /** Writes {@code batch} atomically and durably. */
  void commit(WriteBatch batch) throws IOException {
    try {
      db.write(syncWrite, batch);
    } catch (RocksDBException e) {
      throw failure("commit", e);
    }
  }

  /**
   * Writes {@code batch} atomically, to the log but not synced: a killed process keeps it, a power
   * loss may not until the next synced {@link #commit} (the log is one sequence, synced as a whole).
   */
  void commitUnsynced(WriteBatch batch) throws IOException {
    try {
      db.write(unsyncedWrite, batch);
    } catch (RocksDBException e) {
      throw failure("commit", e);
    }
  }

  private IOException failure(String what, RocksDBException e) {
    return new IOException("metadata store " + dir + ": " + what + " failed: " + e.getMessage(), e);
  }

  /**
   * Closes the store after writing every memtable to table files, so that the next open replays
   * no log (at 10 million extents, replaying it was most of the open's second).
   */
  @Override
  public void close() {
    try (FlushOptions wait = new FlushOptions().setWaitForFlush(true)) {
      db.flush(wait, handles);
    } catch (RocksDBException e) {
      // Nothing is lost: every commit is in the log, which the next open replays.
      LOG.log(System.Logger.Level.WARNING, "{0}: flushing the memtables before closing failed: {1}", this, e.getMessage());
    }
    abandon();
  }

  /** Closes the store as a crash would leave it: its log to be replayed by the next open. For crash tests. */
  void abandon() {
    for (ColumnFamilyHandle h : handles) {
      h.close();
    }
    try {
      db.syncWal();
    } catch (RocksDBException ignored) {
      // Every commit was already synced; this is belt and braces on a clean close.
    }
    db.close();
    syncWrite.close();
    unsyncedWrite.close();
    scanReads.close();
    closeOptions();
  }

  @Override
  public String toString() {
    return "metadata store " + dir;
  }
}
