package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.backup.store.NoSuchObjectException;
import io.vstore.backup.store.ObjectStore;
import io.vstore.blockstore.UnsupportedFormatException;
import java.io.IOException;
import io.vstore.backup.store.ObjectInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Loads a repository's chunk index from its index objects, once, on first use, a few objects at a
 * time; keeps the damaged objects it skipped for {@code check}. Objects parsed by an earlier opening
 * in this process come from {@link IndexCache}. Thread-safe.
 */
final class IndexLoader {
  private static final System.Logger LOG = System.getLogger(Repository.class.getName());

  /** Threads that fetch and parse index objects and manifests: the store's latency (S3) dominates, not the CPU. */
  private static final int INDEX_LOADERS = 4;

  private final ObjectStore store;
  private final Aead dataKey;
  private final String repoId;
  private final IndexCache cache;
  private final ChunkIndex index = new ChunkIndex();
  private final List<RepositoryReport.Problem> loadProblems = new ArrayList<>();
  private final Object indexLoad = new Object();
  private volatile boolean indexLoaded;

  IndexLoader(ObjectStore store, Aead dataKey, String repoId, IndexCache cache) {
    this.store = store;
    this.dataKey = dataKey;
    this.repoId = repoId;
    this.cache = cache;
  }

  /** Loads the chunk index unless it is loaded (once; concurrent callers wait for the one load). */
  void load() throws IOException {
    if (indexLoaded) {
      return;
    }
    synchronized (indexLoad) {
      if (!indexLoaded) {
        long t0 = System.nanoTime();
        readIndexObjects();
        indexLoaded = true;
        LOG.log(System.Logger.Level.DEBUG, () -> String.format("chunk index of %s loaded: %d chunks in %.1f ms", store,
            index.size(), (System.nanoTime() - t0) / 1e6));
      }
    }
  }

  /** Returns the loaded chunk index; an I/O failure loading it is unchecked here (callers that can throw load first). */
  ChunkIndex loaded() {
    try {
      load();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot load the chunk index of " + store + ": " + e.getMessage(), e);
    }
    return index;
  }

  /** Returns the chunk index as it is, for callers that loaded it already. */
  ChunkIndex index() {
    return index;
  }

  /** Returns the index objects that could not be read (loading the index first). */
  List<RepositoryReport.Problem> problems() {
    loaded();
    synchronized (loadProblems) {
      return List.copyOf(loadProblems);
    }
  }

  /**
   * Keeps the entries of index object {@code key}, which this process just wrote from {@code packs},
   * in the process's cache, so that the next opening (the daemon's next job) neither reads nor parses
   * it: a backup's own index objects were otherwise read back by the next backup (73 ms of a 4 GiB
   * incremental). Found by the size and time the store reports for it, as a listing will.
   */
  void remember(String key, List<IndexObject.PackEntries> packs) {
    try {
      store.stat(key).ifPresent(info -> cache.put(store.toString(), repoId, info, IndexEntries.of(packs)));
    } catch (IOException e) {
      // Only a saving lost: the next opening reads the object as it would have.
      LOG.log(System.Logger.Level.DEBUG, () -> "cannot stat " + key + " of " + store + ": " + e.getMessage());
    }
  }

  private void readIndexObjects() throws IOException {
    List<ObjectInfo> objects = new ArrayList<>();
    store.list(IndexObject.PREFIX, objects::add);
    objects.sort(Comparator.comparing(ObjectInfo::key));
    String location = store.toString();
    cache.retainOnly(location, repoId, objects);
    IndexEntries[] parsed = new IndexEntries[objects.size()];
    List<String> toRead = new ArrayList<>();
    Map<String, Integer> slot = new HashMap<>();
    for (int i = 0; i < parsed.length; i++) {
      parsed[i] = cache.get(location, repoId, objects.get(i));
      if (parsed[i] == null) {
        toRead.add(objects.get(i).key());
        slot.put(objects.get(i).key(), i);
      }
    }
    inParallel(store, toRead, key -> {
      int i = slot.get(key);
      parsed[i] = readIndexObject(key);
      if (parsed[i] != null) {
        cache.put(location, repoId, objects.get(i), parsed[i]);
      }
    });
    // Added in key order, so which of two objects naming a chunk wins does not depend on thread timing.
    long total = 0;
    for (IndexEntries e : parsed) {
      total += e == null ? 0 : e.size();
    }
    index.ensureCapacity(total);
    for (IndexEntries e : parsed) {
      if (e != null) {
        index.putAllIfAbsent(e);
      }
    }
    LOG.log(System.Logger.Level.DEBUG, () -> String.format("index objects of %s: %d listed, %d read, %d cached",
        store, objects.size(), toRead.size(), objects.size() - toRead.size()));
  }

  /** A task on one object key. */
  interface KeyTask {
    void run(String key) throws IOException;
  }

  /** Runs {@code task} for every key of {@code store} on up to {@link #INDEX_LOADERS} threads and rethrows the first failure. */
  static void inParallel(ObjectStore store, List<String> keys, KeyTask task) throws IOException {
    if (keys.size() <= 1) {
      for (String key : keys) {
        task.run(key);
      }
      return;
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(INDEX_LOADERS, keys.size()),
        Thread.ofPlatform().daemon().name("repo-load-", 0).factory());
    try {
      List<Future<Void>> loads = new ArrayList<>(keys.size());
      for (String key : keys) {
        loads.add(pool.submit(() -> {
          task.run(key);
          return null;
        }));
      }
      for (Future<Void> f : loads) {
        try {
          f.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted while reading " + store);
        } catch (ExecutionException e) {
          if (e.getCause() instanceof IOException io) {
            throw io;
          }
          throw new IllegalStateException("reading " + store + " failed", e.getCause());
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private IndexEntries readIndexObject(String key) throws IOException {
    try {
      return IndexEntries.read(store.get(key), dataKey, key);
    } catch (CorruptObjectException | UnsupportedFormatException e) {
      // A damaged index object must not make the repository unreadable: its chunks count as
      // absent (a backup stores them again), and check() reports it.
      synchronized (loadProblems) {
        loadProblems.add(new RepositoryReport.Problem(key, e.getMessage()));
      }
    } catch (NoSuchObjectException e) {
      // Deleted by gc since the listing; gc wrote its replacement first.
    }
    return null;
  }
}
