package io.vstore.backup.repo;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Where every chunk of the repository is, in memory, as flat primitive arrays: an open-addressing
 * table (linear probing, backward-shift deletion) of the 32-byte ids as four longs per slot, and
 * per slot a pack number, offset, stored and plain length. 48 bytes per slot at a load factor of
 * 3/8 to 3/4: 64-128 bytes per chunk (16 M chunks, 1 TiB of 64 KiB chunks: about 1-2 GiB), with no
 * object per chunk. Pack ids (one per ~16 MiB) are kept in an ordinary list.
 *
 * <p>Thread-safe: lookups share a read lock, changes take the write lock.
 */
final class ChunkIndex {
  /** Marks a slot held by a sink that is still compressing the chunk: present, location not yet known. */
  static final int RESERVED = -1;
  private static final int EMPTY = 0;
  private static final int MAX_SLOTS = 1 << 28;

  /** Where a chunk is. {@code packNumber} is {@link #RESERVED} while a sink is still storing it. */
  record Location(int packNumber, byte[] packId, int offset, int storedLength, int plainLength) {}

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  // Guarded by lock. pack[] holds packNumber + 1, so that EMPTY is 0 and RESERVED stays -1.
  private long[] ids;
  private int[] pack;
  private int[] offset;
  private int[] stored;
  private int[] plain;
  private int mask;
  private int size;
  private final List<byte[]> packIds = new ArrayList<>();
  private final HashMap<String, Integer> packNumbers = new HashMap<>();

  ChunkIndex() {
    allocate(1024);
  }

  private void allocate(int capacity) {
    ids = new long[capacity * 4];
    pack = new int[capacity];
    offset = new int[capacity];
    stored = new int[capacity];
    plain = new int[capacity];
    mask = capacity - 1;
  }

  /** Returns the number of chunks. */
  long size() {
    lock.readLock().lock();
    try {
      return size;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Returns the bytes the table uses now. */
  long memoryBytes() {
    lock.readLock().lock();
    try {
      return (long) pack.length * 48;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Returns the number for a pack id, adding it if new. */
  int packNumber(byte[] packId) {
    lock.writeLock().lock();
    try {
      return packNumberLocked(packId);
    } finally {
      lock.writeLock().unlock();
    }
  }

  private int packNumberLocked(byte[] packId) {
    String hex = Hex.of(packId);
    Integer n = packNumbers.get(hex);
    if (n == null) {
      n = packIds.size();
      packIds.add(packId.clone());
      packNumbers.put(hex, n);
    }
    return n;
  }

  /** Returns true if the chunk is present (also while reserved). */
  boolean contains(ChunkId id) {
    lock.readLock().lock();
    try {
      return find(id) >= 0;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Returns where the chunk is, or null if absent. */
  Location get(ChunkId id) {
    lock.readLock().lock();
    try {
      int slot = find(id);
      if (slot < 0) {
        return null;
      }
      int p = pack[slot];
      if (p == RESERVED) {
        return new Location(RESERVED, null, 0, 0, 0);
      }
      return new Location(p - 1, packIds.get(p - 1), offset[slot], stored[slot], plain[slot]);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Adds the chunk as {@link #RESERVED} unless present; returns true if this call added it. */
  boolean reserve(ChunkId id) {
    lock.writeLock().lock();
    try {
      if (find(id) >= 0) {
        return false;
      }
      insert(id, RESERVED, 0, 0, 0);
      return true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Sets where the chunk is, adding it if absent. */
  void put(ChunkId id, int packNumber, int off, int storedLength, int plainLength) {
    lock.writeLock().lock();
    try {
      int slot = find(id);
      if (slot >= 0) {
        pack[slot] = packNumber + 1;
        offset[slot] = off;
        stored[slot] = storedLength;
        plain[slot] = plainLength;
      } else {
        insert(id, packNumber + 1, off, storedLength, plainLength);
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Adds the chunk in pack {@code packId} unless it is present already (the first index object wins). */
  void putIfAbsent(byte[] packId, ChunkId id, int off, int storedLength, int plainLength) {
    lock.writeLock().lock();
    try {
      if (find(id) < 0) {
        insert(id, packNumberLocked(packId) + 1, off, storedLength, plainLength);
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Grows the table now so that {@code chunks} entries fit without growing it step by step. */
  void ensureCapacity(long chunks) {
    lock.writeLock().lock();
    try {
      long want = Math.min(MAX_SLOTS, Long.highestOneBit(Math.max(1, (chunks * 4 + 2) / 3)) << 1);
      if (size == 0 && pack.length < want) {
        allocate((int) want);
      }
      while (pack.length < want) {
        grow();
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Adds every entry of {@code entries} that is not present (the first index object wins), under one
   * lock and with one pack-number lookup per pack.
   */
  void putAllIfAbsent(IndexEntries entries) {
    lock.writeLock().lock();
    try {
      for (int p = 0; p < entries.packCount(); p++) {
        int packValue = packNumberLocked(entries.packId(p)) + 1;
        for (int i = entries.packStart(p), end = entries.packStart(p + 1); i < end; i++) {
          long w0 = entries.idWord(i, 0);
          long w1 = entries.idWord(i, 1);
          long w2 = entries.idWord(i, 2);
          long w3 = entries.idWord(i, 3);
          if (find(w0, w1, w2, w3) < 0) {
            insert(w0, w1, w2, w3, packValue, entries.offset(i), entries.storedLength(i), entries.plainLength(i));
          }
        }
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Removes the chunk if present. */
  void remove(ChunkId id) {
    lock.writeLock().lock();
    try {
      int i = find(id);
      if (i < 0) {
        return;
      }
      pack[i] = EMPTY;
      size--;
      // Backward-shift deletion: pull later entries of the probe run into the gap so lookups that
      // stop at an empty slot still find them.
      int j = i;
      while (true) {
        j = (j + 1) & mask;
        if (pack[j] == EMPTY) {
          return;
        }
        int home = home(ids[j * 4]);
        boolean movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
          moveSlot(j, i);
          pack[j] = EMPTY;
          i = j;
        }
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  private int home(long word0) {
    // Ids are HMAC output, uniformly distributed: their own bits are a good hash.
    return (int) (word0 ^ (word0 >>> 32)) & mask;
  }

  private int find(ChunkId id) {
    return find(id.word(0), id.word(1), id.word(2), id.word(3));
  }

  private int find(long w0, long w1, long w2, long w3) {
    int i = home(w0);
    while (pack[i] != EMPTY) {
      int k = i * 4;
      if (ids[k] == w0 && ids[k + 1] == w1 && ids[k + 2] == w2 && ids[k + 3] == w3) {
        return i;
      }
      i = (i + 1) & mask;
    }
    return -1;
  }

  private void insert(ChunkId id, int packValue, int off, int storedLength, int plainLength) {
    insert(id.word(0), id.word(1), id.word(2), id.word(3), packValue, off, storedLength, plainLength);
  }

  private void insert(long w0, long w1, long w2, long w3, int packValue, int off, int storedLength, int plainLength) {
    if ((size + 1) * 4L > (mask + 1) * 3L) {
      grow();
    }
    int i = home(w0);
    while (pack[i] != EMPTY) {
      i = (i + 1) & mask;
    }
    int k = i * 4;
    ids[k] = w0;
    ids[k + 1] = w1;
    ids[k + 2] = w2;
    ids[k + 3] = w3;
    pack[i] = packValue;
    offset[i] = off;
    stored[i] = storedLength;
    plain[i] = plainLength;
    size++;
  }

  private void moveSlot(int from, int to) {
    System.arraycopy(ids, from * 4, ids, to * 4, 4);
    pack[to] = pack[from];
    offset[to] = offset[from];
    stored[to] = stored[from];
    plain[to] = plain[from];
  }

  private void grow() {
    long[] oldIds = ids;
    int[] oldPack = pack;
    int[] oldOffset = offset;
    int[] oldStored = stored;
    int[] oldPlain = plain;
    if (oldPack.length >= MAX_SLOTS) {
      // Four longs per slot in one array: 2^28 slots is the largest that Java arrays hold.
      throw new IllegalStateException("chunk index full at " + size + " chunks (about 200 M: 12 TiB of unique 64 KiB "
          + "chunks); use a larger chunk size for a repository this big");
    }
    allocate(oldPack.length * 2);
    for (int s = 0; s < oldPack.length; s++) {
      if (oldPack[s] == EMPTY) {
        continue;
      }
      int i = home(oldIds[s * 4]);
      while (pack[i] != EMPTY) {
        i = (i + 1) & mask;
      }
      System.arraycopy(oldIds, s * 4, ids, i * 4, 4);
      pack[i] = oldPack[s];
      offset[i] = oldOffset[s];
      stored[i] = oldStored[s];
      plain[i] = oldPlain[s];
    }
  }
}
