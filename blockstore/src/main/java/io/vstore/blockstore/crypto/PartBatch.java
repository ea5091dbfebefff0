package io.vstore.blockstore.crypto;

import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The sealed parts of one large read, opened on every core while the read goes on: a 1 MiB read
 * is up to 256 parts of 4 KiB, each its own AES-GCM message, and one thread opening them all after
 * reading took about as long again as the reading.
 *
 * <p>The reader {@linkplain #add adds} each part once its ciphertext is in place; from the
 * {@link #PARALLEL_PARTS}th on, a helper thread (one per core beyond the first) opens the parts
 * added so far while the reader reads on, and {@link #openAll} makes the reader open what is
 * left alongside. Parts are claimed a few at a time from a shared counter, so a helper that starts
 * late (or never: one core, or every helper busy) costs nothing but its claim, and the reader waits
 * only for parts a helper has claimed and not finished. A helper touches only parts it claimed,
 * all of them finished before {@link #openAll} or {@link #abandon} returns, so no thread writes
 * into the reader's buffers afterwards. Nothing is handed out before every part has opened: the
 * reader learns of a part that failed and fails the whole read.
 */
public final class PartBatch {
  /** Batches of fewer parts are opened by the reader alone: handing off would cost more than it saves. */
  public static final int PARALLEL_PARTS = 16;
  /** Parts claimed at once: about 10 µs of work, so a waiting reader never waits long. */
  private static final int STEP = 4;
  private static final int HELPER_THREADS = Runtime.getRuntime().availableProcessors() - 1;
  /** Platform threads, one per core beyond the first; a small queue, and a batch opens alone when it is full. */
  private static final Executor HELPERS = HELPER_THREADS <= 0 ? null
      : new ThreadPoolExecutor(HELPER_THREADS, HELPER_THREADS, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64), r -> {
        Thread t = new Thread(r, "vstore-part-opener");
        t.setDaemon(true);
        return t;
      });

  private final RecordSealer sealer;
  private final int capacity;
  /** Parts added; only the reader writes it, and entries below {@link #published} are never written again. */
  private int size;
  /** The parts helpers may claim: entries below it are complete (written before this volatile write). */
  private volatile int published;
  /** Set when no part will be added any more: helpers leave once every part is claimed. */
  private volatile boolean closed;
  private boolean helping;
  private final AtomicInteger next = new AtomicInteger();
  private final AtomicInteger done = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger(Integer.MAX_VALUE);
  private volatile Throwable error;
  private final ByteBuffer[] data;
  private final int[] at;
  private final int[] length;
  private final byte[][] nonce;
  private final int[] part;
  private final long[] volume;
  private final long[] block;
  private final long[] generation;
  private final byte[][] tags;
  private final Object[] context;
  private final int[] label;

  /** Creates an empty batch of at most {@code capacity} parts sealed by {@code sealer}. */
  public PartBatch(RecordSealer sealer, int capacity) {
    this.sealer = sealer;
    this.capacity = capacity;
    data = new ByteBuffer[capacity];
    at = new int[capacity];
    length = new int[capacity];
    nonce = new byte[capacity][];
    part = new int[capacity];
    volume = new long[capacity];
    block = new long[capacity];
    generation = new long[capacity];
    tags = new byte[capacity][];
    context = new Object[capacity];
    label = new int[capacity];
  }

  /**
   * Adds the part at {@code data[at, at + length)}, its ciphertext already there, to be opened in
   * place as {@link RecordSealer#open} would (nonce base at {@code nonce[0, 12)}, tag at
   * {@code tags[16 * part, +16)}); {@code context} and {@code label} say, should it fail, which
   * record and block it was. A helper may open it at once.
   */
  public void add(ByteBuffer data, int at, int length, byte[] nonce, int part, long volume, long block, long generation,
      byte[] tags, Object context, int label) {
    if (length > RecordSealer.MAX_PART_BYTES || size == capacity || closed) {
      throw new IllegalStateException("part " + part + " of " + length + " bytes: batch of " + size + "/" + capacity
          + (closed ? ", closed" : ""));
    }
    int i = size++;
    this.data[i] = data;
    this.at[i] = at;
    this.length[i] = length;
    this.nonce[i] = nonce;
    this.part[i] = part;
    this.volume[i] = volume;
    this.block[i] = block;
    this.generation[i] = generation;
    this.tags[i] = tags;
    this.context[i] = context;
    this.label[i] = label;
    published = size;
    if (size == PARALLEL_PARTS) {
      startHelpers();
    }
  }

  private void startHelpers() {
    if (HELPERS == null || helping) {
      return;
    }
    helping = true;
    try {
      for (int h = 0; h < HELPER_THREADS; h++) {
        HELPERS.execute(this::help);
      }
    } catch (RejectedExecutionException e) {
      // every helper is busy and the queue is full: the reader opens what no one claims
    }
  }

  /** Returns the number of parts added. */
  public int size() {
    return size;
  }

  /** Returns the context given with part {@code i}. */
  public Object context(int i) {
    return context[i];
  }

  /** Returns the label given with part {@code i}. */
  public int label(int i) {
    return label[i];
  }

  /**
   * Opens every part added (those no helper has opened yet, on this thread and the helpers) and
   * returns the index of the first that failed to open (cleared, as {@link RecordSealer#open}
   * clears it), or -1 when all opened. No part may be added afterwards.
   */
  public int openAll() {
    closed = true;
    work(false);
    await(size);
    if (error != null) {
      throw new IllegalStateException("opening sealed parts failed", error);
    }
    int first = failed.get();
    return first == Integer.MAX_VALUE ? -1 : first;
  }

  /**
   * Gives up the batch (its read failed): no part is claimed any more, and this returns once the
   * parts helpers were opening are done, so none writes into the reader's buffers afterwards.
   * Idempotent; harmless after {@link #openAll}.
   */
  public void abandon() {
    closed = true;
    int claimed = next.getAndSet(Integer.MAX_VALUE);
    if (claimed != Integer.MAX_VALUE) {
      await(Math.min(claimed, size));
    }
  }

  /** A helper's part: open what is published until the batch is closed and every part claimed. */
  private void help() {
    work(true);
  }

  /**
   * Claims and opens published parts a step at a time; a helper ({@code waitForMore}) waits for
   * the reader to add more until the batch is closed, the reader does not.
   */
  private void work(boolean waitForMore) {
    RecordSealer.Worker w = null;
    try {
      for (int idle = 0; ; ) {
        int i = next.get();
        int avail = published;
        if (i >= avail) {
          if (!waitForMore || closed || i == Integer.MAX_VALUE) {
            if (i >= published) { // re-read: the reader may have published and closed since
              return;
            }
            continue;
          }
          if (++idle < 200) {
            Thread.onSpinWait();
          } else { // the reader is in a file read: back off to at most a millisecond
            LockSupport.parkNanos(Math.min(1_000_000L, 20_000L << Math.min(idle - 200, 6)));
          }
          continue;
        }
        int end = Math.min(i + STEP, avail);
        if (!next.compareAndSet(i, end)) {
          continue;
        }
        idle = 0;
        try {
          if (w == null) {
            w = sealer.borrowWorker();
          }
          for (int k = i; k < end; k++) {
            if (!sealer.open(w, data[k], at[k], length[k], nonce[k], 0, part[k], volume[k], block[k], generation[k],
                tags[k], RecordSealer.TAG_BYTES * part[k])) {
              int mine = k;
              failed.accumulateAndGet(mine, Math::min);
            }
          }
        } catch (Throwable t) {
          error = t;
        } finally {
          done.addAndGet(end - i); // counted even on failure, or the reader would wait forever
        }
      }
    } finally {
      if (w != null) {
        sealer.giveBack(w);
      }
    }
  }

  /** Waits until {@code parts} parts are done: the reader opened the rest, so only helpers' last steps remain. */
  private void await(int parts) {
    for (int spins = 0; done.get() < parts; spins++) {
      if (spins < 1000) {
        Thread.onSpinWait();
      } else {
        LockSupport.parkNanos(20_000);
      }
    }
  }
}
