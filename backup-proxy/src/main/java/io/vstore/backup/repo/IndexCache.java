package io.vstore.backup.repo;

import io.vstore.backup.store.ObjectInfo;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parsed index objects this process read, kept across repository openings so that a long-lived
 * process (the daemon, which opens the repository again for every backup and restore job) reads,
 * authenticates and parses each index object once rather than once per job (0.19 s of a warm
 * incremental at 42,600 chunks, 1.2 s cold). Each job still lists the index objects and builds its own
 * {@link ChunkIndex} from the listing, so an object that gc or a sync deleted drops out at the next
 * job, and what a job's sink adds stays that job's.
 *
 * <p>Index objects are immutable once written; an entry is found by the repository (location and
 * id), the object's key, and the size and modification time the listing reports, so an object
 * replaced behind the repository's back (tampering, a restored copy) is read again. {@code check}
 * and {@code verify} read every object themselves and never consult the cache.
 *
 * <p>Bounded in bytes ({@link #budgetBytes}), least recently used out first: a repository whose index
 * is larger than the budget keeps what fits and reads the rest each time, as it did before. The
 * default is a sixteenth of the maximum heap, at most 256 MiB; the system property
 * {@code vstore.backup.indexCacheBytes} sets it (0 turns the cache off). Thread-safe.
 */
final class IndexCache {
  /** The process's cache. */
  static final IndexCache SHARED = new IndexCache(defaultBudget());

  /** What an entry is found by. */
  private record Key(String location, String repoId, String objectKey, long size, Instant modified) {}

  private final long budgetBytes;
  private final Object lock = new Object();
  // Guarded by lock.
  private final LinkedHashMap<Key, IndexEntries> entries = new LinkedHashMap<>(64, 0.75f, true);
  private long bytes;
  private long hits;
  private long misses;

  IndexCache(long budgetBytes) {
    if (budgetBytes < 0) {
      throw new IllegalArgumentException("index cache budget " + budgetBytes + " is negative");
    }
    this.budgetBytes = budgetBytes;
  }

  private static long defaultBudget() {
    String set = System.getProperty("vstore.backup.indexCacheBytes");
    if (set != null) {
      try {
        return Math.max(0, Long.parseLong(set.strip()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("vstore.backup.indexCacheBytes is not a number of bytes: '" + set + "'");
      }
    }
    return Math.min(256L << 20, Runtime.getRuntime().maxMemory() / 16);
  }

  /** Returns the cached entries of {@code object} in repository {@code repoId} at {@code location}, or null. */
  IndexEntries get(String location, String repoId, ObjectInfo object) {
    Key key = new Key(location, repoId, object.key(), object.size(), object.modified());
    synchronized (lock) {
      IndexEntries e = entries.get(key);
      if (e == null) {
        misses++;
      } else {
        hits++;
      }
      return e;
    }
  }

  /** Remembers the parsed entries of {@code object}, evicting the least recently used beyond the budget. */
  void put(String location, String repoId, ObjectInfo object, IndexEntries parsed) {
    long size = parsed.memoryBytes();
    if (size > budgetBytes) {
      return;
    }
    Key key = new Key(location, repoId, object.key(), object.size(), object.modified());
    synchronized (lock) {
      IndexEntries old = entries.put(key, parsed);
      if (old != null) {
        bytes -= old.memoryBytes();
      }
      bytes += size;
      var it = entries.entrySet().iterator();
      while (bytes > budgetBytes && it.hasNext()) {
        Map.Entry<Key, IndexEntries> eldest = it.next();
        bytes -= eldest.getValue().memoryBytes();
        it.remove();
      }
    }
  }

  /**
   * Forgets the entries of repository {@code repoId} at {@code location} that are not in {@code live}
   * (its current listing): objects gc deleted or replaced since the last opening free their memory.
   */
  void retainOnly(String location, String repoId, List<ObjectInfo> live) {
    Set<Key> keep = new HashSet<>();
    for (ObjectInfo o : live) {
      keep.add(new Key(location, repoId, o.key(), o.size(), o.modified()));
    }
    synchronized (lock) {
      var it = entries.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<Key, IndexEntries> e = it.next();
        Key k = e.getKey();
        if (k.location.equals(location) && k.repoId.equals(repoId) && !keep.contains(k)) {
          bytes -= e.getValue().memoryBytes();
          it.remove();
        }
      }
    }
  }

  /** Returns the bytes held. */
  long bytes() {
    synchronized (lock) {
      return bytes;
    }
  }

  /** Returns the number of lookups that found an entry (tests, the debug log). */
  long hits() {
    synchronized (lock) {
      return hits;
    }
  }

  /** Returns the number of lookups that found none. */
  long misses() {
    synchronized (lock) {
      return misses;
    }
  }

  /** Forgets everything. */
  void clear() {
    synchronized (lock) {
      entries.clear();
      bytes = 0;
    }
  }
}
