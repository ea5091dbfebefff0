package io.vstore.backup.engine;

import io.vstore.backup.repo.ChunkRef;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Restores a backup point into a device that reads as zeros (a new volume or a new image file):
 * several workers fetch, verify and decode chunks and write them at their offsets; holes are never
 * written, so the target stays sparse. One page of the chunk map is listed at a time and a bounded
 * queue feeds the workers, so memory does not grow with the point.
 *
 * <p>With a progress file, the restore is resumable: from time to time the target is flushed and
 * the mark below which every chunk is written is saved ({@link RestoreProgress}); a rerun with the
 * same file starts at the mark, so chunks already written are not fetched again. The file is deleted
 * when the restore completes.
 */
public final class PointRestore {
  /** Bytes dispatched between two progress records: a crash costs at most about this much refetching. */
  static final long CHECKPOINT_BYTES = 256L << 20;

  /** Runs the progress records' flushes beside the dispatch (one at a time per restore). */
  private static final Executor CHECKPOINTS = task -> Thread.ofVirtual().name("restore-checkpoint").start(task);

  private final Repository repository;
  private final PointReader point;
  private final BackupListener listener;
  private int workers = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
  private Path progressFile;
  private long failAfterChunks = -1;
  private long checkpointBytes = CHECKPOINT_BYTES;

  /** Prepares restoring {@code point} of {@code repository}, reporting to {@code listener}. */
  public PointRestore(Repository repository, PointReader point, BackupListener listener) {
    this.repository = repository;
    this.point = point;
    this.listener = listener == null ? BackupListener.NONE : listener;
  }

  /** Sets the number of threads fetching and writing chunks (default: twice the cores, at least 4). */
  public PointRestore workers(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("bad worker count " + n + ": at least 1");
    }
    this.workers = n;
    return this;
  }

  /** Makes the restore resumable through {@code file} (its directory must exist). */
  public PointRestore progressFile(Path file) {
    this.progressFile = file;
    return this;
  }

  /** Sets the bytes dispatched between two progress records (tests use small values). */
  PointRestore checkpointBytes(long bytes) {
    this.checkpointBytes = bytes;
    return this;
  }

  /** Makes the restore fail after writing {@code n} chunks (tests of resumption). */
  PointRestore failAfterChunks(long n) {
    this.failAfterChunks = n;
    return this;
  }

  /** Returns the chunk to start at for {@code file}'s record (0 if none), or throws if it is another restore's. */
  private long resumeMark() throws IOException {
    if (progressFile == null) {
      return 0;
    }
    RestoreProgress p = RestoreProgress.load(progressFile);
    if (p == null) {
      return 0;
    }
    if (!p.matches(point.info().id(), point.size(), point.chunkSize())) {
      throw new IOException("restore progress record " + progressFile + " is of point " + p.pointId() + " ("
          + p.size() + " bytes), not of " + point.info().id() + ": remove it or the partial target");
    }
    return Math.min(p.doneChunks(), point.chunkCount());
  }

  /**
   * Writes every chunk of the point into {@code target} (same size, reading as zeros where the point
   * has holes) and flushes it; returns the bytes written.
   */
  public long into(BlockDevice target) throws IOException {
    if (target.size() != point.size()) {
      throw new IllegalArgumentException("restore target " + target + " is " + target.size() + " bytes, point "
          + point.info().id() + " is " + point.size());
    }
    int chunkSize = point.chunkSize();
    long start = resumeMark();
    if (start > 0) {
      listener.log("resuming the restore of " + point.info().id() + " at " + start * chunkSize + " bytes");
    }
    listener.started(point.info().id(), point.info().bytes());
    BlockingQueue<ChunkRef> queue = new ArrayBlockingQueue<>(4 * workers);
    ConcurrentSkipListSet<Long> inFlight = new ConcurrentSkipListSet<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicLong written = new AtomicLong();
    AtomicLong writtenChunks = new AtomicLong();
    ChunkRef end = new ChunkRef(-1, null, 0);
    Thread[] threads = new Thread[workers];
    for (int w = 0; w < workers; w++) {
      threads[w] = Thread.ofPlatform().name("restore-" + w).daemon().start(() -> {
        try {
          while (true) {
            ChunkRef ref = queue.take();
            if (ref == end) {
              return;
            }
            try {
              if (failure.get() == null) {
                write(ref, target, chunkSize);
                if (failAfterChunks >= 0 && writtenChunks.incrementAndGet() > failAfterChunks) {
                  throw new IOException("injected failure after " + failAfterChunks + " chunks");
                }
                listener.progress(written.addAndGet(ref.plainLength()));
                // Only a chunk written leaves the set: after a failure its lowest member bounds what is done.
                inFlight.remove(ref.chunkIndex());
              }
            } catch (Throwable t) {
              failure.compareAndSet(null, t);
            }
          }
        } catch (InterruptedException e) {
          failure.compareAndSet(null, new InterruptedIOException("restore interrupted"));
        }
      });
    }
    long count = point.chunkCount();
    long window = Math.max(1, repositoryPageChunks());
    long sinceCheckpoint = 0;
    long saved = start;
    long next = start; // every chunk below it has been dispatched
    CompletableFuture<Long> pendingCheckpoint = null;
    try {
      List<ChunkRef> refs = new ArrayList<>();
      for (long w = start; w < count && failure.get() == null; w += window) {
        refs.clear();
        point.forEach(w, Math.min(count, w + window), refs::add);
        for (ChunkRef ref : refs) {
          if (failure.get() != null) {
            break;
          }
          inFlight.add(ref.chunkIndex());
          queue.put(ref);
          next = ref.chunkIndex() + 1;
          sinceCheckpoint += ref.plainLength();
          if (progressFile != null && sinceCheckpoint >= checkpointBytes
              && (pendingCheckpoint == null || pendingCheckpoint.isDone())) {
            // The flush runs beside the dispatch: waiting for it here would starve the workers.
            sinceCheckpoint = 0;
            saved = checkpointDone(pendingCheckpoint, saved);
            long mark = lowestNotWritten(inFlight, next);
            long previous = saved;
            pendingCheckpoint = CompletableFuture.supplyAsync(() -> {
              try {
                return checkpoint(target, mark, previous, chunkSize);
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            }, CHECKPOINTS);
          }
        }
        if (failure.get() == null) {
          next = Math.min(count, w + window);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure.compareAndSet(null, new InterruptedIOException("restore interrupted"));
    } catch (IOException | RuntimeException e) {
      failure.compareAndSet(null, e);
    } finally {
      for (int w = 0; w < workers; w++) {
        Uninterruptibly.put(queue, end); // workers drain the queue (skipping work after a failure) until the marker
      }
      for (Thread t : threads) {
        Uninterruptibly.join(t);
      }
      try {
        saved = checkpointDone(pendingCheckpoint, saved);
      } catch (IOException e) {
        failure.compareAndSet(null, e);
      }
    }
    Throwable t = failure.get();
    if (t != null) {
      if (progressFile != null && !(t instanceof Error)) {
        try {
          // Every chunk below the lowest one not written is in the target: keep that for the rerun.
          // With nothing saved yet, a record of mark 0 still says whose partial target this is.
          checkpoint(target, lowestNotWritten(inFlight, next), saved == 0 ? -1 : saved, chunkSize);
        } catch (IOException | RuntimeException e) {
          t.addSuppressed(e);
        }
      }
      switch (t) {
        case IOException io -> throw io;
        case RuntimeException re -> throw re;
        case Error er -> throw er;
        default -> throw new IOException(t);
      }
    }
    target.flush();
    if (progressFile != null) {
      Files.deleteIfExists(progressFile);
    }
    return written.get();
  }

  /** Returns the chunk below which every chunk is written: the lowest in flight, else {@code next}, the first not dispatched. */
  private static long lowestNotWritten(ConcurrentSkipListSet<Long> inFlight, long next) {
    try {
      return Math.min(next, inFlight.first());
    } catch (java.util.NoSuchElementException empty) {
      return next; // nothing in flight: everything dispatched is written
    }
  }

  /** Waits for {@code pending} (if any) and returns the mark it saved, else {@code saved}. */
  private static long checkpointDone(CompletableFuture<Long> pending, long saved) throws IOException {
    if (pending == null) {
      return saved;
    }
    try {
      return Math.max(saved, pending.join());
    } catch (CompletionException e) {
      if (e.getCause() instanceof UncheckedIOException u) {
        throw u.getCause();
      }
      throw e;
    }
  }

  /**
   * Flushes the target and saves {@code mark} (every chunk below it was written before this call)
   * if it is beyond {@code saved}; returns the mark saved.
   */
  private long checkpoint(BlockDevice target, long mark, long saved, int chunkSize) throws IOException {
    if (mark <= saved) {
      return saved;
    }
    target.flush(); // the record must never claim chunks that a crash could still lose
    new RestoreProgress(point.info().id(), point.size(), chunkSize, mark).save(progressFile);
    return mark;
  }

  private int repositoryPageChunks() {
    return repository.config().pageChunks();
  }

  private void write(ChunkRef ref, BlockDevice target, int chunkSize) throws IOException {
    ByteBuffer data = repository.readChunk(ref.id());
    if (data.remaining() != ref.plainLength()) {
      throw new CorruptDataException("bad backup point " + point.info().id() + ": chunk " + ref.chunkIndex()
          + " decodes to " + data.remaining() + " bytes, the chunk map says " + ref.plainLength());
    }
    target.write(ref.chunkIndex() * chunkSize, data);
  }
}
