package io.vstore.backup.repo;

import io.vstore.backup.store.NoSuchObjectException;
import io.vstore.blockstore.UnsupportedFormatException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the repository looks for a chunk or page that its index or {@code pages/} no longer holds:
 * in what gc has hidden but not yet deleted. gc takes unreferenced packs out of the index (so that
 * new backups no longer deduplicate against them) and moves unreferenced pages aside, keeping their
 * index entries in {@code gc/<round>.index} and the pages as {@code gc/<round>.pages/<id>} until
 * every backup that was running then has ended. A point such a backup commits meanwhile may use
 * them; this is how it still reads (and how check finds its chunks).
 *
 * <p>Loaded on the first miss and again on a miss after gc wrote another round; misses are rare (a
 * point committed across a gc), so nothing is held until one happens.
 */
final class HiddenChunks {
  private final Repository repo;
  private final Object lock = new Object();

  // Guarded by lock.
  private List<String> loadedKeys = List.of();
  private ChunkIndex index;
  private Map<String, String> pages = Map.of();

  HiddenChunks(Repository repo) {
    this.repo = repo;
  }

  /** Returns where a hidden chunk is, or null if gc hides no such chunk. */
  ChunkIndex.Location find(ChunkId id) throws IOException {
    synchronized (lock) {
      if (index != null) {
        ChunkIndex.Location loc = index.get(id);
        if (loc != null) {
          return loc;
        }
      }
      if (!reloadIfChanged()) {
        return null;
      }
      return index.get(id);
    }
  }

  /** Returns the key under which gc keeps a hidden page, or null. */
  String pageKey(ChunkId pageId) throws IOException {
    synchronized (lock) {
      String key = pages.get(pageId.hex());
      if (key != null || !reloadIfChanged()) {
        return key;
      }
      return pages.get(pageId.hex());
    }
  }

  /** Drops what was loaded. */
  void forget() {
    synchronized (lock) {
      loadedKeys = List.of();
      index = null;
      pages = Map.of();
    }
  }

  /** Reloads when the set of gc objects changed; returns false if it did not. */
  private boolean reloadIfChanged() throws IOException {
    List<String> keys = new ArrayList<>();
    repo.store().list(RepositoryMaintenance.GC_PREFIX, o -> keys.add(o.key()));
    keys.sort(null);
    if (index != null && keys.equals(loadedKeys)) {
      return false;
    }
    ChunkIndex fresh = new ChunkIndex();
    Map<String, String> freshPages = new HashMap<>();
    for (String key : keys) {
      if (key.endsWith(".index")) {
        try {
          IndexObject.read(repo.store().get(key), repo.dataKey(), key, fresh::putIfAbsent);
        } catch (NoSuchObjectException e) {
          // collected since the listing: no point references what it held
        } catch (CorruptObjectException | UnsupportedFormatException e) {
          // check() reports damaged gc objects; a lookup just finds nothing there
        }
      } else {
        int at = key.indexOf(".pages/");
        if (at > 0) {
          freshPages.put(key.substring(at + 7), key);
        }
      }
    }
    loadedKeys = keys;
    index = fresh;
    pages = freshPages;
    return true;
  }
}
