package io.vstore.backup.maint;

import io.vstore.backup.repo.ChunkRef;
import io.vstore.backup.repo.ChunkSink;
import io.vstore.backup.repo.KeySource;
import io.vstore.backup.repo.NoSuchPointException;
import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.PointWriter;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryMaintenance;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code vstore backup sync --from REPO --to REPO}: copies the points the target lacks, with only
 * the chunks it lacks. Chunks first, points last: each point's chunks are stored and indexed
 * before its manifest, which keeps the source's point id, so a rerun after an interruption skips
 * the points that arrived and, through the target's index, the chunks that did.
 *
 * <p>Chunks are read from the source and stored into the target on one worker per core.
 *
 * <p>Chunk ids are keyed, so they match only between repositories that share the chunk-id key: a
 * target made with {@code vstore backup init REPO2 --copy-ids-from REPO1}. Any other target is
 * refused (copying would mean hashing every chunk again, and its dedup would not match).
 */
public final class RepositorySync {
  /** Chunks copied before the point writer is told of them: bounds what waits in memory. */
  private static final int PENDING = 4096;
  private static final byte[] PROBE = "vstore: do these repositories share the chunk-id key?"
      .getBytes(StandardCharsets.US_ASCII);

  /**
   * What a sync copied.
   *
   * @param pointsCopied points written to the target, oldest first
   * @param pointsPresent source points the target already had
   * @param chunksCopied chunks the target lacked, and their plain bytes
   * @param chunksPresent chunks the target already had
   */
  public record Result(List<String> pointsCopied, int pointsPresent, long chunksCopied, long bytesCopied,
      long chunksPresent) {}

  private RepositorySync() {}

  /**
   * Syncs the points of {@code source} (every source when null) from one store to another. Takes a
   * sync lock in both before opening them (the target's gc must count this run as a writer that may
   * reference what its index listed when it began).
   */
  public static Result run(ObjectStore fromStore, KeySource fromKey, ObjectStore toStore, KeySource toKey,
      String source) throws IOException {
    try (LockedRepository from = LockedRepository.open(fromStore, fromKey, LockKind.SYNC, "sync to " + toStore);
        LockedRepository to = LockedRepository.open(toStore, toKey, LockKind.SYNC, "sync from " + fromStore)) {
      return copy(from.repo(), to.repo(), source, to.lock());
    }
  }

  /** Fails with a message that says how to make a suitable target, unless chunk ids match. */
  static void checkCompatible(Repository from, Repository to) {
    if (from.config().chunkSize() != to.config().chunkSize()) {
      throw new IllegalArgumentException("cannot sync " + from.store() + " to " + to.store() + ": chunk sizes differ ("
          + from.config().chunkSize() + " and " + to.config().chunkSize() + " bytes); create the target with "
          + "'vstore backup init " + to.store() + " --copy-ids-from " + from.store() + "'");
    }
    if (!from.chunkId(ByteBuffer.wrap(PROBE)).equals(to.chunkId(ByteBuffer.wrap(PROBE)))) {
      throw new IllegalArgumentException("cannot sync " + from.store() + " to " + to.store() + ": the target has its "
          + "own chunk-id key, so chunk ids would not match; create the target with 'vstore backup init "
          + to.store() + " --copy-ids-from " + from.store() + "' (it shares the chunk-id key, with its own data key "
          + "and passphrase)");
    }
  }

  /** Copies into open repositories; {@code toLock} is checked before each point is committed. */
  static Result copy(Repository from, Repository to, String source, RepositoryLock toLock) throws IOException {
    checkCompatible(from, to);
    RepositoryMaintenance fromMaint = new RepositoryMaintenance(from);
    Set<String> present = new HashSet<>();
    for (PointInfo p : to.points()) {
      present.add(p.id());
    }
    List<String> copied = new ArrayList<>();
    int already = 0;
    long[] chunks = new long[3];
    for (PointInfo p : from.points()) {
      if (source != null && !source.equals(p.source())) {
        continue;
      }
      if (present.contains(p.id())) {
        already++;
        continue;
      }
      try {
        copyPoint(from, fromMaint, to, p, present, chunks, toLock);
      } catch (NoSuchPointException e) {
        continue; // pruned from the source meanwhile
      }
      present.add(p.id());
      copied.add(p.id());
    }
    return new Result(List.copyOf(copied), already, chunks[0], chunks[1], chunks[2]);
  }

  private static void copyPoint(Repository from, RepositoryMaintenance fromMaint, Repository to, PointInfo p,
      Set<String> present, long[] chunks, RepositoryLock toLock) throws IOException {
    // Built on the target's copy of the point's base, when it has one, so unchanged pages are shared.
    PointReader base = p.base() != null && present.contains(p.base()) ? to.openPoint(p.base()) : null;
    try (PointReader src = from.openPoint(p.id()); ChunkSink sink = to.openSink();
        ChunkCopier copier = new ChunkCopier(from, sink)) {
      PointWriter w = to.newPoint(src.size(), base);
      List<ChunkRef> pending = new ArrayList<>();
      long count = src.chunkCount();
      for (long i = 0; i < count; i++) {
        ChunkRef ref = src.chunk(i);
        if (ref == null) {
          w.clear(i);
          continue;
        }
        if (to.hasChunk(ref.id())) {
          chunks[2]++;
          w.set(i, ref.id(), ref.plainLength());
        } else {
          // The writer takes only chunks the target has: set once the copy is done.
          copier.copy(ref);
          pending.add(ref);
          if (pending.size() >= PENDING) {
            copier.finish();
            setAll(w, pending);
          }
        }
      }
      copier.finish();
      setAll(w, pending);
      chunks[0] += copier.copied;
      chunks[1] += copier.copiedBytes;
      chunks[2] += copier.present;
      if (toLock != null) {
        toLock.ensureHeld();
      }
      RepositoryMaintenance.commitAs(w, p.id(), fromMaint.metaOf(p.id()), sink);
    } finally {
      if (base != null) {
        base.close();
      }
    }
  }

  private static void setAll(PointWriter w, List<ChunkRef> refs) throws IOException {
    for (ChunkRef r : refs) {
      w.set(r.chunkIndex(), r.id(), r.plainLength());
    }
    refs.clear();
  }

  /**
   * Reads chunks from the source and adds them to the target's sink on worker threads: reading
   * authenticates, decompresses and hashes, adding compresses and seals, so a sync uses every core.
   * At most {@link #IN_FLIGHT} chunks are in flight, which bounds memory.
   */
  private static final class ChunkCopier implements AutoCloseable {
    private static final int IN_FLIGHT = 16;

    private final Repository from;
    private final ChunkSink sink;
    private final java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
        Math.max(1, Runtime.getRuntime().availableProcessors()), Thread.ofPlatform().daemon().name("sync-copy-", 0)
            .factory());
    private final java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(IN_FLIGHT);
    private final java.util.concurrent.atomic.AtomicReference<Exception> failure =
        new java.util.concurrent.atomic.AtomicReference<>();
    private final Set<io.vstore.backup.repo.ChunkId> queued = new HashSet<>();
    long copied;
    long copiedBytes;
    long present;

    ChunkCopier(Repository from, ChunkSink sink) {
      this.from = from;
      this.sink = sink;
    }

    void copy(ChunkRef ref) throws IOException {
      check();
      if (!queued.add(ref.id())) {
        present++; // the point holds the chunk twice: one copy is enough
        return;
      }
      try {
        slots.acquire();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("sync interrupted");
      }
      pool.execute(() -> {
        try {
          boolean added = sink.add(ref.id(), from.readChunk(ref.id()));
          synchronized (this) {
            if (added) {
              copied++;
              copiedBytes += ref.plainLength();
            } else {
              present++;
            }
          }
        } catch (Exception e) {
          failure.compareAndSet(null, e);
        } finally {
          slots.release();
        }
      });
    }

    /** Waits for every chunk in flight; throws the first failure. */
    void finish() throws IOException {
      try {
        slots.acquire(IN_FLIGHT);
        slots.release(IN_FLIGHT);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("sync interrupted");
      }
      queued.clear();
      check();
    }

    private void check() throws IOException {
      Exception e = failure.get();
      if (e instanceof IOException io) {
        throw io;
      }
      if (e != null) {
        throw new IOException("sync failed copying a chunk: " + e, e);
      }
    }

    @Override
    public void close() {
      pool.shutdownNow();
    }
  }
}
