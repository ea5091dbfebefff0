package io.vstore.backup.engine;

import io.vstore.backup.repo.ChunkId;
import io.vstore.backup.repo.ChunkSink;
import io.vstore.backup.repo.PointWriter;
import io.vstore.backup.repo.Repository;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.Uninterruptibly;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * Reads chunk-aligned ranges of a device and stores them as chunks of a point: the calling thread
 * lists the ranges, {@link #READERS} readers fill large buffers, a few workers split each into chunks, turn all-zero chunks
 * into holes and hash and store the rest ({@link Repository#chunkId}, {@link ChunkSink#add}, which
 * compresses and seals on the worker's thread), and record each chunk in the {@link PointWriter}.
 *
 * <p>Memory is fixed: {@code 2 * workers + READERS} buffers of {@link #PIECE_BYTES} circulate between the
 * readers and the workers through two bounded queues, whatever the device's size.
 */
final class ChunkStorer {
  /** Bytes read per device call: large enough that the volume's read path streams. */
  static final int PIECE_BYTES = 4 << 20;
  /** Bytes of device whose extents are asked for at once: bounds the extent lists held. */
  static final long WINDOW_BYTES = 1L << 30;

  private final Repository repository;
  private final ChunkSink sink;
  private final PointWriter writer;
  private final int chunkSize;
  private final int workers;
  private final ByteBuffer zeros;
  private final AtomicLong bytesRead = new AtomicLong();
  private final AtomicLong chunks = new AtomicLong();
  private final AtomicLong zeroChunks = new AtomicLong();
  private final AtomicLong newChunks = new AtomicLong();

  /** A filled buffer: {@code data} holds the device's bytes from {@code offset}. */
  private record Piece(long offset, ByteBuffer data) {}

  private static final Piece END = new Piece(-1, ByteBuffer.allocate(0));
  private static final long[] NO_MORE = new long[0];
  /** Reads in flight at once (virtual threads, mostly waiting on the device). */
  static final int READERS = 8;

  ChunkStorer(Repository repository, ChunkSink sink, PointWriter writer, int chunkSize, int workers) {
    this.repository = repository;
    this.sink = sink;
    this.writer = writer;
    this.chunkSize = chunkSize;
    this.workers = Math.max(1, workers);
    this.zeros = ByteBuffer.allocate(chunkSize).asReadOnlyBuffer();
  }

  /** Returns the number of workers to use on this machine: every core, the reader shares one. */
  static int defaultWorkers() {
    return Math.max(1, Runtime.getRuntime().availableProcessors());
  }

  /** Answers which byte extents of a window of the device to read (sorted by offset). */
  @FunctionalInterface
  interface Extents {
    /** Returns the extents of {@code [offset, offset + length)} that need reading. */
    List<Extent> of(long offset, long length) throws IOException;
  }

  /**
   * Stores the chunks of {@code source} that {@code extents} names, asking for them one window of
   * {@link #WINDOW_BYTES} at a time (so that a huge, fragmented volume never needs its whole map),
   * widened to whole chunks; reports the bytes read so far to {@code progress}.
   */
  void store(BlockDevice source, Extents extents, LongConsumer progress) throws IOException {
    int piece = Math.max(chunkSize, PIECE_BYTES / chunkSize * chunkSize);
    int buffers = 2 * workers + READERS;
    BlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(buffers);
    for (int i = 0; i < buffers; i++) {
      free.add(ByteBuffer.allocate(piece));
    }
    BlockingQueue<Piece> full = new ArrayBlockingQueue<>(buffers + workers);
    BlockingQueue<long[]> todo = new ArrayBlockingQueue<>(2 * READERS);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread[] threads = new Thread[workers];
    for (int w = 0; w < workers; w++) {
      threads[w] = Thread.ofPlatform().name("backup-chunker-" + w).daemon().start(() -> work(full, free, failure));
    }
    Thread[] readers = new Thread[READERS];
    for (int r = 0; r < READERS; r++) {
      readers[r] = Thread.ofVirtual().name("backup-reader-" + r)
          .start(() -> read(source, todo, free, full, failure, progress));
    }
    long size = source.size();
    long window = Math.max(chunkSize, WINDOW_BYTES / chunkSize * chunkSize);
    try {
      for (long w = 0; w < size && failure.get() == null; w += window) {
        for (long[] r : ChunkRanges.cover(extents.of(w, Math.min(window, size - w)), chunkSize, size)) {
          for (long pos = r[0]; pos < r[1] && failure.get() == null; ) {
            int n = (int) Math.min(piece, r[1] - pos);
            todo.put(new long[] {pos, n});
            pos += n;
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure.compareAndSet(null, new InterruptedIOException("backup interrupted"));
    } catch (IOException | RuntimeException e) {
      failure.compareAndSet(null, e);
    } finally {
      for (int r = 0; r < READERS; r++) {
        Uninterruptibly.put(todo, NO_MORE); // readers drain the queue (skipping reads after a failure) until the marker
      }
      for (Thread t : readers) {
        Uninterruptibly.join(t);
      }
      for (int w = 0; w < workers; w++) {
        full.add(END); // room reserved: the queue holds buffers + workers entries
      }
      for (Thread t : threads) {
        Uninterruptibly.join(t);
      }
    }
    Throwable t = failure.get();
    if (t != null) {
      switch (t) {
        case IOException io -> throw io;
        case RuntimeException re -> throw re;
        case Error er -> throw er;
        default -> throw new IOException(t);
      }
    }
  }

  /**
   * One of the {@link #READERS}: reads the ranges {@code todo} names into free buffers and hands them
   * to the workers. Several reads in flight, because the ranges an incremental backup reads are small
   * and scattered (64 KiB changed areas), and one synchronous reader would wait on each in turn.
   */
  private void read(BlockDevice source, BlockingQueue<long[]> todo, BlockingQueue<ByteBuffer> free,
      BlockingQueue<Piece> full, AtomicReference<Throwable> failure, LongConsumer progress) {
    try {
      while (true) {
        long[] range = todo.take();
        if (range == NO_MORE) {
          return;
        }
        if (failure.get() != null) {
          continue;
        }
        ByteBuffer buf = free.take();
        try {
          buf.clear().limit((int) range[1]);
          source.read(range[0], buf);
          buf.flip();
          full.put(new Piece(range[0], buf));
          buf = null;
        } finally {
          if (buf != null) {
            free.add(buf);
          }
        }
        long total = bytesRead.addAndGet(range[1]);
        synchronized (progress) {
          progress.accept(total);
        }
      }
    } catch (InterruptedException e) {
      failure.compareAndSet(null, new InterruptedIOException("backup reader interrupted"));
    } catch (Throwable t) {
      failure.compareAndSet(null, t);
      // keep draining until the marker, so that the dispatcher never blocks on a full queue
      try {
        while (todo.take() != NO_MORE) {
          // skip
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void work(BlockingQueue<Piece> full, BlockingQueue<ByteBuffer> free, AtomicReference<Throwable> failure) {
    try {
      while (true) {
        Piece p = full.take();
        if (p == END) {
          return;
        }
        try {
          // A piece that was read is stored even after a failure elsewhere (at most the buffers in
          // flight): the sink is flushed after a failure, so a rerun does not read and send it again.
          storePiece(p);
        } catch (Throwable t) {
          failure.compareAndSet(null, t instanceof UncheckedIOException u ? u.getCause() : t);
        } finally {
          free.add(p.data());
        }
      }
    } catch (InterruptedException e) {
      failure.compareAndSet(null, new InterruptedIOException("backup worker interrupted"));
    }
  }

  private void storePiece(Piece p) throws IOException {
    ByteBuffer data = p.data();
    for (int at = 0; at < data.limit(); at += chunkSize) {
      int len = Math.min(chunkSize, data.limit() - at);
      long index = (p.offset() + at) / chunkSize;
      ByteBuffer chunk = data.slice(at, len);
      chunks.incrementAndGet();
      if (chunk.mismatch(zeros.slice(0, len)) < 0) {
        zeroChunks.incrementAndGet();
        synchronized (writer) {
          writer.clear(index);
        }
        continue;
      }
      ChunkId id = repository.chunkId(chunk);
      if (sink.add(id, chunk)) {
        newChunks.incrementAndGet();
      }
      synchronized (writer) { // one writer, one thread at a time: the lock orders the calls
        writer.set(index, id, len);
      }
    }
  }

  /** Returns the bytes read from the device. */
  long bytesRead() {
    return bytesRead.get();
  }

  /** Returns the chunks looked at. */
  long chunks() {
    return chunks.get();
  }

  /** Returns the chunks that were all zeros (holes). */
  long zeroChunks() {
    return zeroChunks.get();
  }

  /** Returns the chunks the repository did not have yet. */
  long newChunks() {
    return newChunks.get();
  }
}
