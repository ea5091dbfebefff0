package io.vstore.blockstore.store;

import io.vstore.blockstore.AlreadyClosedException;
import java.util.List;

/**
 * Loads the metadata pages of a datastore just opened into the {@link MetadataCache}, in the
 * background, so that random reads and writes soon stop paying a synchronous page load each: every
 * volume's maps (head first, then snapshot deltas and base) page by page in key order, then the
 * record states. It stops when the cache is nearly full ({@link #FILL} of the budget: what is left
 * is room for the pages that accesses load on demand, which they still do for any page it has not
 * reached), when everything is loaded, or when the datastore closes.
 *
 * <p>A page is loaded exactly as a lookup loads it (a map's page under its volume's lock, shared;
 * a record page through the table's own page load), so it is never staler than what a lookup would
 * read, and changes made meanwhile reach it as they reach any loaded page. The thread runs at the
 * lowest priority and takes a volume's lock for a few pages at a time, so writers wait little.
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
  private final Thread thread;
  private volatile boolean stopped;
  /** Pages loaded so far (also by lookups that raced it: the count is for figures and tests). */
  private volatile long loaded;
  private volatile boolean done;

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
    this.thread = Thread.ofPlatform().daemon().name("metadata warmer " + name).priority(Thread.MIN_PRIORITY)
        .unstarted(this::run);
  }

  /** Starts warming in the background. */
  void start() {
    thread.start();
  }

  /** Returns whether warming has ended (everything loaded, the cache full, stopped or failed). */
  boolean isDone() {
    return done;
  }

  /** Returns how many pages the warmer loaded or found loaded. */
  long pagesVisited() {
    return loaded;
  }

  private boolean room() {
    return !stopped && cache.used() < fillBytes;
  }

  private void run() {
    long start = System.nanoTime();
    try {
      for (VolumeState v : volumes.list()) {
        warmMaps(v);
      }
      for (RecordKey next = new RecordKey(0, 0); next != null && room(); next = records.warmFrom(next)) {
        loaded++;
      }
      LOG.log(System.Logger.Level.DEBUG, "{0}: metadata warmer visited {1} pages in {2} ms, cache holds {3} bytes",
          name, loaded, (System.nanoTime() - start) / 1_000_000, cache.used());
    } catch (AlreadyClosedException e) {
      // Warming is only an optimization: pages load on demand as before.
      LOG.log(System.Logger.Level.DEBUG, "{0}: metadata warmer stopped: {1}", name, e.getMessage());
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "{0}: metadata warmer failed, pages load on demand: {1}", name, e);
    } finally {
      done = true;
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
          for (int i = 0; i < PAGES_PER_HOLD && next >= 0; i++) {
            next = map.warmFrom(next);
            loaded++;
          }
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
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true; // the store must not close under the thread: wait, then restore the flag
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
