package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.blockstore.AlreadyClosedException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The {@link ChunkSink} of a repository. Callers compress, seal and checksum on their own threads;
 * only appending to the open pack is serialised. A full pack is written and synced in the background
 * (at most {@link #MAX_PACKS_WRITING} at once, then the caller that filled the next one waits), so
 * the threads that hash and compress keep working while a pack's fsync waits on the disk. Packs become durable before any index object names them; an index object
 * is written at every flush and after every {@link #INDEX_EVERY_PACKS} packs, so an interrupted
 * session loses at most that much to a crash and the next session finds the rest with hasChunk.
 */
final class PackSink implements ChunkSink {
  /** Packs written before an index object is, even without a flush (1 GiB at 16 MiB packs). */
  static final int INDEX_EVERY_PACKS = 64;
  /** Full packs written in the background at once: bounds the memory of packs waiting for the disk. */
  static final int MAX_PACKS_WRITING = 2;

  private final Repository repo;
  private final BlobCodec codec;
  private final Aead aead;
  private final int packTarget;
  private final int packCapacity;
  private final Object lock = new Object();
  private final Object indexLock = new Object();
  private final boolean always;

  // Guarded by lock.
  private PackBuilder open;
  private int inFlight;
  private int writing; // background pack writes started and not finished
  private final Set<PackBuilder> inFlightPacks = new HashSet<>();
  private final List<IndexObject.PackEntries> unindexed = new ArrayList<>();
  private Throwable failure;
  private boolean closed;
  private long chunks;
  private long plainBytes;
  private long storedBytes;
  private long duplicates;
  private long claimed;

  PackSink(Repository repo, BlobCodec codec, Aead aead, int packTarget, int chunkSize) {
    this(repo, codec, aead, packTarget, chunkSize, false);
  }

  /** With {@code always}, stores every chunk added, even one the index has: gc's repacking copies live chunks. */
  PackSink(Repository repo, BlobCodec codec, Aead aead, int packTarget, int chunkSize, boolean always) {
    this.always = always;
    this.repo = repo;
    this.codec = codec;
    this.aead = aead;
    this.packTarget = packTarget;
    this.packCapacity = packTarget + BlobCodec.maxStored(chunkSize) + 64 * 1024;
  }

  @Override
  public boolean add(ChunkId id, ByteBuffer plaintext) throws IOException {
    synchronized (lock) {
      checkUsable();
    }
    if (plaintext.remaining() == 0) {
      throw new IllegalArgumentException("empty chunk " + id.hex());
    }
    ChunkIndex index = repo.index();
    if (!index.reserve(id) && !always) {
      synchronized (lock) {
        duplicates++;
      }
      return false;
    }
    BlobCodec.Scratch s = codec.borrow();
    boolean placed = false;
    PackBuilder full = null;
    try {
      codec.encode(id, plaintext, s);
      CRC32C crc = new CRC32C();
      crc.update(s.out, 0, s.length);
      synchronized (lock) {
        checkUsable();
        if (open == null) {
          byte[] packId = Aead.randomBytes(16);
          open = new PackBuilder(packId, index.packNumber(packId), packCapacity);
        }
        int offset = open.append(s.out, s.length, id, plaintext.remaining(), (int) crc.getValue());
        index.put(id, open.packNumber, offset, s.length, plaintext.remaining());
        placed = true;
        chunks++;
        plainBytes += plaintext.remaining();
        storedBytes += s.length;
        if (open.dataBytes() >= packTarget) {
          full = open;
          open = null;
          inFlight++;
          inFlightPacks.add(full);
        }
      }
    } finally {
      codec.release(s);
      if (!placed) {
        index.remove(id);
      }
    }
    if (full != null) {
      writeInBackground(full);
    }
    return true;
  }

  /**
   * Writes {@code pack} (already counted in flight) on a thread of its own once fewer than {@link
   * #MAX_PACKS_WRITING} background writes run; until then the caller waits. After another pack's
   * failure it does not wait: the pack is still written, as every full pack was before.
   */
  private void writeInBackground(PackBuilder pack) throws IOException {
    synchronized (lock) {
      while (writing >= MAX_PACKS_WRITING && failure == null) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          inFlight--;
          inFlightPacks.remove(pack);
          lock.notifyAll();
          throw new InterruptedIOException("interrupted while waiting to write a pack of " + repo);
        }
      }
      writing++;
    }
    Thread.ofVirtual().name("pack-writer").start(() -> {
      try {
        writePack(pack);
      } catch (IOException | RuntimeException | Error e) {
        // recorded as the sink's failure by writePack or writeIndex: the next add, flush or close reports it
      } finally {
        synchronized (lock) {
          writing--;
          lock.notifyAll();
        }
      }
    });
  }

  private void checkUsable() throws IOException {
    if (closed) {
      throw new AlreadyClosedException("chunk sink of " + repo + " is closed");
    }
    if (failure != null) {
      throw new IOException("chunk sink of " + repo + " failed earlier: " + failure.getMessage(), failure);
    }
  }

  private void writePack(PackBuilder pack) throws IOException {
    boolean indexNow = false;
    try {
      ByteBuffer bytes = pack.finish(aead);
      repo.store().putIfAbsent(pack.key, bytes);
      synchronized (lock) {
        inFlight--;
        inFlightPacks.remove(pack);
        unindexed.add(pack.entries());
        indexNow = unindexed.size() >= INDEX_EVERY_PACKS;
        lock.notifyAll();
      }
    } catch (IOException | RuntimeException | Error e) {
      synchronized (lock) {
        inFlight--;
        if (failure == null) {
          failure = e;
        }
        lock.notifyAll();
      }
      throw e;
    }
    if (indexNow) {
      writeIndex();
    }
  }

  private void writeIndex() throws IOException {
    synchronized (indexLock) {
      List<IndexObject.PackEntries> batch;
      synchronized (lock) {
        if (unindexed.isEmpty()) {
          return;
        }
        batch = new ArrayList<>(unindexed);
        unindexed.clear();
      }
      try {
        String key = IndexObject.PREFIX + Hex.of(Aead.randomBytes(16));
        repo.store().putIfAbsent(key, ByteBuffer.wrap(IndexObject.write(batch, aead, key)));
        repo.rememberIndexObject(key, batch);
      } catch (IOException | RuntimeException e) {
        synchronized (lock) {
          unindexed.addAll(batch);
          if (failure == null) {
            failure = e;
          }
        }
        throw e;
      }
    }
  }

  @Override
  public void flush() throws IOException {
    PackBuilder last;
    synchronized (lock) {
      checkUsable();
      last = open;
      open = null;
      if (last != null) {
        inFlight++;
        inFlightPacks.add(last);
      }
    }
    if (last != null) {
      writePack(last);
    }
    synchronized (lock) {
      while (inFlight > 0) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while flushing the chunk sink of " + repo);
        }
      }
      checkUsable();
    }
    writeIndex();
  }

  @Override
  public SinkStats stats() {
    synchronized (lock) {
      return new SinkStats(chunks, plainBytes, storedBytes, duplicates);
    }
  }

  /** Returns the stored bytes added since the last call: what the point being committed added. */
  long claimNewBytes() {
    synchronized (lock) {
      long v = storedBytes - claimed;
      claimed = storedBytes;
      return v;
    }
  }

  /**
   * Flushes, unless the sink failed; either way, forgets chunks that never reached an index object,
   * so that this process does not believe the repository has them.
   */
  @Override
  public void close() throws IOException {
    synchronized (lock) {
      if (closed) {
        return;
      }
    }
    try {
      boolean failed;
      synchronized (lock) {
        failed = failure != null;
      }
      if (!failed) {
        flush();
      }
    } finally {
      synchronized (lock) {
        closed = true;
        // Wait for packs other threads are still writing, so none is forgotten half-way.
        while (inFlight > 0) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
        }
        forgetUnindexed();
      }
    }
  }

  private void forgetUnindexed() {
    ChunkIndex index = repo.index();
    if (open != null) {
      for (int i = 0; i < open.count(); i++) {
        index.remove(open.id(i));
      }
      open = null;
    }
    for (PackBuilder p : inFlightPacks) {
      for (int i = 0; i < p.count(); i++) {
        index.remove(p.id(i));
      }
    }
    inFlightPacks.clear();
    for (IndexObject.PackEntries e : unindexed) {
      for (ChunkId id : e.ids()) {
        index.remove(id);
      }
    }
    unindexed.clear();
  }
}
