package io.vstore.blockstore.store;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.Uninterruptibly;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Loads the metadata pages of a datastore just opened into the {@link MetadataCache}, in the
 * background, so that random reads and writes soon stop paying a synchronous page load each: one
 * thread loads every volume's maps (head first, then snapshot deltas and base) page by page in key
 * order, another the record states (which only writes need). Each stops when the cache is nearly
 * full ({@link #FILL} of the budget: the rest is room for the pages that accesses load on demand),
 * when it has loaded everything, or when the datastore closes. While it runs, an access to a page
 * not reached yet mostly reads its rows without loading the page (see {@link MetadataCache#admits}).
 *
 * <p>A page is loaded exactly as a lookup loads it (a map's page under its volume's lock, shared;
 * a record page through the table's own page load), so it is never staler than what a lookup would
 * read, and changes made meanwhile reach it as they reach any loaded page. The threads run at the
 * lowest priority, and the maps' thread holds a volume's lock for a few pages at a time, so
 * writers wait little.
 */
final class MetadataWarmer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(MetadataWarmer.class.getName());
  /** The share of the cache budget a datastore's warmer fills at most. */
  static final double FILL = 0.875;
  /** Map pages loaded per hold of a volume's lock. */
  private static final int PAGES_PER_HOLD = 8;

  private final String name;
  private final MetadataCache cache;
  private final RecordTable records;
  private final VolumeCatalog volumes;
  private final long fillBytes;
  /** One thread for the maps, one for the record states: both cores when the machine is idle. */
  private final Thread[] threads;
  private volatile boolean stopped;
  /** Pages loaded so far (also by lookups that raced it: the count is for figures and tests). */
  private final LongAdder loaded = new LongAdder();
  /** Threads not yet ended. */
  private final AtomicInteger running = new AtomicInteger(2);

  /**
   * Creates the warmer of the datastore whose parts are {@code parts}, which loads pages while the
   * cache holds less than {@code fillBytes}; {@link #start} starts it.
   */
  MetadataWarmer(StoreParts parts, long fillBytes) {
    this.name = parts.dir().toString();
    this.cache = parts.meta().cache();
    this.records = parts.records();
    this.volumes = parts.volumes();
    this.fillBytes = fillBytes;
    Thread.Builder builder = Thread.ofPlatform().daemon().priority(Thread.MIN_PRIORITY);
    this.threads = new Thread[] {
        builder.name("metadata warmer (maps) " + name).unstarted(() -> run("maps", this::warmMaps)),
        builder.name("metadata warmer (records) " + name).unstarted(() -> run("record states", this::warmRecords))};
  }

  /** Starts warming in the background. */
  void start() {
    for (Thread t : threads) {
      cache.warmerStarted();
      t.start();
    }
  }

  /** Returns whether warming has ended (everything loaded, the cache full, stopped or failed). */
  boolean isDone() {
    return running.get() == 0;
  }

  /** Returns how many pages the warmer loaded or found loaded. */
  long pagesVisited() {
    return loaded.sum();
  }

  private boolean room() {
    return !stopped && cache.used() < fillBytes;
  }

  private void run(String what, Runnable warm) {
    long start = System.nanoTime();
    try {
      warm.run();
      LOG.log(System.Logger.Level.DEBUG, "{0}: metadata warmer ended its {1} after {2} ms, cache holds {3} bytes",
          name, what, (System.nanoTime() - start) / 1_000_000, cache.used());
    } catch (AlreadyClosedException e) {
      // Warming is only an optimization: pages load on demand as before.
      LOG.log(System.Logger.Level.DEBUG, "{0}: metadata warmer stopped: {1}", name, e.getMessage());
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "{0}: metadata warmer failed, pages load on demand: {1}", name, e);
    } finally {
      cache.warmerEnded();
      running.decrementAndGet();
    }
  }

  private void warmRecords() {
    for (RecordKey next = new RecordKey(0, 0); next != null && room(); next = records.warmFrom(next)) {
      loaded.increment();
    }
  }

  private void warmMaps() {
    for (VolumeState v : volumes.list()) {
      warmMaps(v);
    }
  }

  private void warmMaps(VolumeState v) {
    List<BlockMap> maps;
    v.lock.readLock().lock();
    try {
      if (v.isDeleted()) {
        return;
      }
      maps = v.maps();
    } finally {
      v.lock.readLock().unlock();
    }
    for (BlockMap map : maps) {
      long next = 0;
      while (next >= 0 && room()) {
        v.lock.readLock().lock();
        try {
          next = map.warmFrom(next, PAGES_PER_HOLD, loaded);
        } finally {
          v.lock.readLock().unlock();
        }
      }
    }
  }

  /** Stops warming and waits for the thread: the caller closes the metadata store next. */
  @Override
  public void close() {
    stopped = true;
    Uninterruptibly.joinAll(java.util.Arrays.asList(threads)); // the store must not close under them
  }
}
