package io.vstore.ovf.pkg;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Uninterruptibly;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * The second stage of reading a streamOptimized VMDK: worker threads that inflate the
 * {@link GrainBatch}es the reading thread fills and write them into the target, while that thread
 * reads (and digests) the stream on. Memory is bounded: a fixed number of batches go round between
 * the stages, so the reader waits when the workers fall behind.
 *
 * <p>The first failure of a worker is kept and thrown, as it was (a {@code CorruptImageException}
 * naming the grain), to the reading thread at its next {@link #take()} or at {@link #drain()};
 * batches after it are not written. The caller then fails its copy, and the importer deletes
 * what it created.
 */
final class GrainPipeline implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(GrainPipeline.class.getName());
  /** Tells a worker to stop. */
  private static final GrainBatch STOP = new GrainBatch(GrainBatch.MAX_BYTES, 1);

  private final String name;
  private final int grainBytes;
  private final int maxCompressed;
  private final int maxBatches;
  private final BlockingQueue<GrainBatch> free;
  private final BlockingQueue<GrainBatch> full;
  private final Thread[] workers;
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final LongAdder written = new LongAdder();
  private volatile boolean closing;
  private int created; // batches made so far; only the reading thread makes them

  /**
   * Starts {@code workers} threads writing grains of {@code grainBytes} (at most {@code maxCompressed}
   * bytes compressed) of disk {@code name} ({@code capacity} bytes) into {@code target}, checking
   * each grain's Adler-32 if {@code checksums}.
   */
  GrainPipeline(String name, int grainBytes, int maxCompressed, long capacity, BlockDevice target, boolean overParent,
      boolean checksums, int workers) {
    this.name = name;
    this.grainBytes = grainBytes;
    this.maxCompressed = maxCompressed;
    // Two batches per worker keep each busy while the reader fills the next; one more is being filled.
    this.maxBatches = 2 * workers + 1;
    this.free = new ArrayBlockingQueue<>(maxBatches);
    this.full = new ArrayBlockingQueue<>(maxBatches + workers);
    this.workers = new Thread[workers];
    boolean libdeflate = NativeInflater.enabled();
    LOG.log(System.Logger.Level.DEBUG, () -> name + ": grains inflated by " + (libdeflate ? "libdeflate" : "the JDK's zlib"));
    for (int i = 0; i < workers; i++) {
      GrainInflater inflater = new GrainInflater(name, grainBytes, capacity, checksums, libdeflate ? NativeInflater.create() : null);
      Thread t = new Thread(() -> work(inflater, target, overParent), "ova-inflate " + name);
      t.setDaemon(true);
      this.workers[i] = t;
    }
    for (Thread t : this.workers) {
      t.start();
    }
  }

  private void work(GrainInflater inflater, BlockDevice target, boolean overParent) {
    try {
      while (true) {
        GrainBatch b = full.take();
        if (b == STOP) {
          return;
        }
        try {
          if (failure.get() == null && !closing) {
            written.add(inflater.write(b, target, overParent));
          }
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        } finally {
          b.clear();
          free.add(b); // never blocks: the queue holds every batch
        }
      }
    } catch (InterruptedException e) {
      failure.compareAndSet(null, new InterruptedIOException(name + ": grain worker interrupted"));
    } finally {
      inflater.close();
    }
  }

  /** Returns an empty batch, waiting for one while every batch is in use; throws a worker's failure. */
  GrainBatch take() throws IOException {
    rethrow();
    GrainBatch b = free.poll();
    if (b == null) {
      if (created < maxBatches) {
        created++;
        return new GrainBatch(grainBytes, maxCompressed);
      }
      b = await(free);
    }
    rethrow();
    return b;
  }

  /** Hands a filled batch to the workers. */
  void submit(GrainBatch batch) throws IOException {
    if (batch.count() == 0) {
      free.add(batch);
      return;
    }
    try {
      full.put(batch);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(name + ": interrupted");
    }
  }

  /**
   * Waits until every batch submitted so far is written; returns the bytes written since the
   * start, or throws the first failure of a worker.
   */
  long drain() throws IOException {
    GrainBatch[] all = new GrainBatch[created];
    for (int i = 0; i < all.length; i++) {
      all[i] = await(free);
    }
    for (GrainBatch b : all) {
      free.add(b);
    }
    rethrow();
    return written.sum();
  }

  private GrainBatch await(BlockingQueue<GrainBatch> queue) throws InterruptedIOException {
    try {
      return queue.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(name + ": interrupted");
    }
  }

  private void rethrow() throws IOException {
    Throwable t = failure.get();
    if (t == null) {
      return;
    }
    if (t instanceof IOException io) {
      throw io;
    }
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IOException(name + ": " + t, t);
  }

  /** Stops the workers; batches submitted and not yet drained are dropped (the copy has failed). */
  @Override
  public void close() {
    closing = true;
    for (int i = 0; i < workers.length; i++) {
      full.add(STOP); // never blocks: room is kept for one per worker
    }
    Uninterruptibly.joinAll(java.util.Arrays.asList(workers));
  }
}
