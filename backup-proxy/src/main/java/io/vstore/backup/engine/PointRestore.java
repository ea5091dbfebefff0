package io.vstore.backup.engine;

import io.vstore.backup.repo.ChunkDecoder;
import io.vstore.backup.repo.ChunkPlace;
import io.vstore.backup.repo.ChunkRef;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Uninterruptibly;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Restores a backup point into a device that reads as zeros (a new volume or a new image file).
 * The chunk map is taken a window ({@link #WINDOW_BYTES} of the volume) at a time; its chunks are
 * sorted by the pack that stores them and by offset there, and the calling thread cuts each pack into
 * runs: a few large reads ({@link #MAX_RUN_BYTES}, never the same bytes twice in a window). The
 * workers (two per core) take the runs in that order; each reads its run, authenticates and
 * decompresses each blob once into buffers it reuses, and writes it with positional writes at every
 * offset that uses it. A worker waits for its pack read about as long as it decodes, so with two per
 * core the disk has several reads in flight and the cores still have a worker to run. Holes are never
 * written, so the target stays sparse. Memory is bounded by the window and one run per worker, not by
 * the point.
 *
 * <p>The target is flushed every {@link #CHECKPOINT_BYTES} dispatched, beside the dispatch: the disk
 * writes the data back while the rest is decoded, instead of all of it at the final flush.
 *
 * <p>With a progress file, the restore is resumable: from time to time the target is flushed and
 * the mark below which every chunk is written is saved ({@link RestoreProgress}); a rerun with the
 * same file starts at the mark, so chunks already written are not fetched again. The file is deleted
 * when the restore completes.
 */
public final class PointRestore {
  /**
   * Bytes dispatched between two flushes of the target (and progress records). Small enough that the
   * disk writes back all along (a host with gigabytes of page cache would otherwise start only at
   * the final flush), large enough that a flush, a sync of the file system's journal, stays rare. The
   * record's mark is the lowest chunk not yet written, and a window is written in pack order, so a
   * crash costs at most about a window plus this much refetching.
   */
  static final long CHECKPOINT_BYTES = 64L << 20;

  /** Bytes of the point placed and sorted by pack at once: bounds the chunk refs held, whatever the point's size. */
  static final long WINDOW_BYTES = 1L << 30;
  /** Most bytes read from a pack at once. */
  static final int MAX_RUN_BYTES = 4 << 20;
  /** Unused pack bytes a read may span between two wanted blobs rather than being split in two. */
  static final int MAX_GAP_BYTES = 256 << 10;
  /** Most workers, whatever the core count: each holds a run of up to {@link #MAX_RUN_BYTES}. */
  static final int MAX_WORKERS = 16;

  /** A chunk of the point and where its blob is stored; {@code packOrder} ranks its pack by first use. */
  private record Placed(long chunkIndex, int plainLength, ChunkPlace place, int packOrder) {}

  private static final Comparator<Placed> BY_PACK = Comparator.comparingInt(Placed::packOrder)
      .thenComparingLong(p -> p.place().offset()).thenComparingLong(Placed::chunkIndex);

  /** One read of a pack: the blobs of {@code placed[from, to)}, which lie in one range of one pack. */
  private record PackRun(Placed[] placed, int from, int to, long plainBytes) {
    static final PackRun END = new PackRun(new Placed[0], 0, 0, 0);
  }

  /** Runs the progress records' flushes beside the dispatch (one at a time per restore). */
  private static final Executor CHECKPOINTS = task -> Thread.ofVirtual().name("restore-checkpoint").start(task);

  private final Repository repository;
  private final PointReader point;
  private final BackupListener listener;
  private int workers = Math.min(MAX_WORKERS, 2 * Runtime.getRuntime().availableProcessors());
  private Path progressFile;
  private long failAfterChunks = -1;
  private long checkpointBytes = CHECKPOINT_BYTES;

  /** Prepares restoring {@code point} of {@code repository}, reporting to {@code listener}. */
  public PointRestore(Repository repository, PointReader point, BackupListener listener) {
    this.repository = repository;
    this.point = point;
    this.listener = listener == null ? BackupListener.NONE : listener;
  }

  /** Sets the number of threads reading, decoding and writing chunks (default: two per core, at most {@link #MAX_WORKERS}). */
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
    BlockingQueue<PackRun> queue = new ArrayBlockingQueue<>(workers);
    ConcurrentSkipListSet<Long> inFlight = new ConcurrentSkipListSet<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicLong written = new AtomicLong();
    AtomicLong writtenChunks = new AtomicLong();
    Thread[] threads = new Thread[workers];
    ChunkDecoder[] decoders = new ChunkDecoder[workers];
    for (int w = 0; w < workers; w++) {
      decoders[w] = repository.newDecoder(); // made here, so that a worker cannot fail before its first run
    }
    for (int w = 0; w < workers; w++) {
      ChunkDecoder decoder = decoders[w];
      threads[w] = Thread.ofPlatform().name("restore-" + w).daemon().start(() -> {
        // A chunk leaves inFlight only once its write returned: after a failure its lowest member bounds what is done.
        try (RunWriter writer = new RunWriter(target, chunkSize, (first, n, bytes) -> {
          for (long c = first; c < first + n; c++) {
            if (failAfterChunks >= 0 && writtenChunks.incrementAndGet() > failAfterChunks) {
              throw new IOException("injected failure after " + failAfterChunks + " chunks");
            }
            inFlight.remove(c);
          }
          listener.progress(written.addAndGet(bytes));
        })) {
          ByteBuffer runBytes = ByteBuffer.allocate(MAX_RUN_BYTES); // grown for a run of one larger blob
          while (true) {
            PackRun run = queue.take();
            if (run == PackRun.END) {
              return;
            }
            try {
              if (failure.get() == null) {
                runBytes = readRun(run, runBytes);
                writeRun(run, runBytes.array(), decoder, writer);
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
    long window = windowChunks(chunkSize);
    long sinceCheckpoint = 0;
    long saved = start;
    long next = start; // every chunk below it has been dispatched, or is in inFlight until written
    CompletableFuture<Long> pendingCheckpoint = null;
    try {
      List<ChunkRef> refs = new ArrayList<>();
      for (long w = start; w < count && failure.get() == null; w += window) {
        refs.clear();
        long windowEnd = Math.min(count, w + window);
        point.forEach(w, windowEnd, refs::add);
        Placed[] placed = placeByPack(refs);
        for (Placed p : placed) {
          inFlight.add(p.chunkIndex());
        }
        next = windowEnd; // what of the window is not written yet is in inFlight
        for (int i = 0; i < placed.length && failure.get() == null; ) {
          int j = runEnd(placed, i);
          PackRun run = new PackRun(placed, i, j, plainBytes(placed, i, j));
          queue.put(run);
          i = j;
          sinceCheckpoint += run.plainBytes();
          if (sinceCheckpoint >= checkpointBytes
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
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure.compareAndSet(null, new InterruptedIOException("restore interrupted"));
    } catch (IOException | RuntimeException e) {
      failure.compareAndSet(null, e);
    } finally {
      for (int w = 0; w < workers; w++) {
        Uninterruptibly.put(queue, PackRun.END); // workers drain the queue (skipping work after a failure) until the marker
      }
      for (Thread t : threads) {
        Uninterruptibly.join(t);
      }
      for (ChunkDecoder d : decoders) {
        d.close();
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

  /** Returns how many chunks of the map are placed and sorted at once: at least a page, about {@link #WINDOW_BYTES}. */
  private long windowChunks(int chunkSize) {
    long page = Math.max(1, repositoryPageChunks());
    long pages = Math.max(1, WINDOW_BYTES / chunkSize / page);
    return pages * page;
  }

  /**
   * Looks up where each chunk of {@code refs} is stored and returns them sorted by pack (packs in
   * the order the point first uses them, so the target is still written roughly front to back) and
   * by offset in the pack, so that each pack is read front to back in a few large reads.
   */
  private Placed[] placeByPack(List<ChunkRef> refs) throws IOException {
    Map<String, Integer> packOrder = new HashMap<>();
    Placed[] placed = new Placed[refs.size()];
    for (int i = 0; i < placed.length; i++) {
      ChunkRef ref = refs.get(i);
      ChunkPlace place = repository.place(ref.id());
      Integer order = packOrder.get(place.packKey());
      if (order == null) {
        order = packOrder.size();
        packOrder.put(place.packKey(), order);
      }
      placed[i] = new Placed(ref.chunkIndex(), ref.plainLength(), place, order);
    }
    Arrays.sort(placed, BY_PACK);
    return placed;
  }

  /** Returns the end (exclusive) of the run that starts at {@code from}: one pack, gaps and length bounded. */
  private static int runEnd(Placed[] placed, int from) {
    Placed first = placed[from];
    long runStart = first.place().offset();
    long end = first.place().end();
    int j = from + 1;
    while (j < placed.length) {
      Placed p = placed[j];
      if (p.packOrder() != first.packOrder() || p.place().offset() - end > MAX_GAP_BYTES
          || Math.max(end, p.place().end()) - runStart > MAX_RUN_BYTES) {
        break;
      }
      end = Math.max(end, p.place().end());
      j++;
    }
    return j;
  }

  /** Returns the plaintext bytes of the chunks {@code placed[from, to)}. */
  private static long plainBytes(Placed[] placed, int from, int to) {
    long plain = 0;
    for (int i = from; i < to; i++) {
      plain += placed[i].plainLength();
    }
    return plain;
  }

  /**
   * Reads the pack range that holds the blobs of {@code run} in one read into {@code buffer} (or a
   * larger one it returns, for a run of one blob beyond it); the range starts at the first blob's offset.
   */
  private ByteBuffer readRun(PackRun run, ByteBuffer buffer) throws IOException {
    Placed first = run.placed()[run.from()];
    long runStart = first.place().offset();
    long end = runStart;
    for (int i = run.from(); i < run.to(); i++) {
      end = Math.max(end, run.placed()[i].place().end());
    }
    int length = Math.toIntExact(end - runStart);
    ByteBuffer into = buffer.capacity() >= length ? buffer.clear() : ByteBuffer.allocate(length);
    repository.readPackRange(first.place().packKey(), runStart, into.limit(length), first.place().id());
    return into;
  }

  /**
   * Decodes each blob of {@code run} (read into {@code bytes}) once and hands it to {@code writer} for
   * every chunk that uses it (a chunk repeated in the volume is stored once and lies at adjacent
   * places after sorting); the run's chunks are all written when this returns.
   */
  private void writeRun(PackRun run, byte[] bytes, ChunkDecoder decoder, RunWriter writer) throws IOException {
    long runStart = run.placed()[run.from()].place().offset();
    ByteBuffer data = null;
    ChunkPlace decoded = null;
    for (int i = run.from(); i < run.to(); i++) {
      Placed p = run.placed()[i];
      if (decoded == null || !decoded.packKey().equals(p.place().packKey())
          || decoded.offset() != p.place().offset()) {
        data = decoder.decode(p.place(), bytes, Math.toIntExact(p.place().offset() - runStart));
        decoded = p.place();
      }
      if (data.remaining() != p.plainLength()) {
        throw new CorruptDataException("bad backup point " + point.info().id() + ": chunk " + p.chunkIndex()
            + " decodes to " + data.remaining() + " bytes, the chunk map says " + p.plainLength());
      }
      writer.add(p.chunkIndex(), data);
    }
    writer.flush();
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
   * Flushes the target and, with a progress file, saves {@code mark} (every chunk below it was
   * written before this call) if it is beyond {@code saved}; returns the mark reached.
   */
  private long checkpoint(BlockDevice target, long mark, long saved, int chunkSize) throws IOException {
    if (mark <= saved) {
      return saved;
    }
    target.flush(); // the record must never claim chunks that a crash could still lose
    if (progressFile != null) {
      new RestoreProgress(point.info().id(), point.size(), chunkSize, mark).save(progressFile);
    }
    return mark;
  }

  private int repositoryPageChunks() {
    return repository.config().pageChunks();
  }

}
