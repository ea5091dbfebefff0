package io.vstore.blockstore.crypto;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The sealed parts of one large read, gathered while their ciphertext is read into place and then
 * opened together ({@link #openAll}) on every core: a 1 MiB read is up to 256 parts of 4 KiB, each
 * its own AES-GCM message, and one thread opening them all took as long as reading them.
 *
 * <p>The caller opens parts itself and helper threads join in when they are free: parts are
 * claimed a few at a time from a shared counter, so a helper that starts late (or never, on one
 * core or when every helper is busy) costs nothing but its claim, and the caller waits only for
 * the few parts a helper has claimed and not yet finished. A helper touches only the parts it
 * claimed, all of which are done before {@link #openAll} returns, so no thread writes into the
 * caller's buffers afterwards. Nothing is handed out before every part has opened: the caller
 * learns of a part that failed and fails the whole read.
 */
public final class PartBatch {
  /** Batches of fewer parts are opened by the caller alone: handing off would cost more than it saves. */
  public static final int PARALLEL_PARTS = 16;
  /** Parts claimed at once: about 10 µs of work, so a waiting caller never waits long. */
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
  private int size;
  private ByteBuffer[] data = new ByteBuffer[32];
  private int[] at = new int[32];
  private int[] length = new int[32];
  private byte[][] nonce = new byte[32][];
  private int[] part = new int[32];
  private long[] volume = new long[32];
  private long[] block = new long[32];
  private long[] generation = new long[32];
  private byte[][] tags = new byte[32][];
  private Object[] context = new Object[32];
  private int[] label = new int[32];

  /** Creates an empty batch of parts sealed by {@code sealer}. */
  public PartBatch(RecordSealer sealer) {
    this.sealer = sealer;
  }

  /**
   * Adds the part at {@code data[at, at + length)}, to be opened in place as
   * {@link RecordSealer#open} would (nonce base at {@code nonce[0, 12)}); {@code context} and
   * {@code label} say, should it fail, which record and block it was.
   */
  public void add(ByteBuffer data, int at, int length, byte[] nonce, int part, long volume, long block, long generation,
      byte[] tags, int tagAt, Object context, int label) {
    if (length > RecordSealer.MAX_PART_BYTES || tagAt != RecordSealer.TAG_BYTES * part) {
      throw new IllegalArgumentException("part " + part + " of " + length + " bytes, tag at " + tagAt);
    }
    if (size == this.data.length) {
      grow();
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
  }

  private void grow() {
    int n = size * 2;
    data = Arrays.copyOf(data, n);
    at = Arrays.copyOf(at, n);
    length = Arrays.copyOf(length, n);
    nonce = Arrays.copyOf(nonce, n);
    part = Arrays.copyOf(part, n);
    volume = Arrays.copyOf(volume, n);
    block = Arrays.copyOf(block, n);
    generation = Arrays.copyOf(generation, n);
    tags = Arrays.copyOf(tags, n);
    context = Arrays.copyOf(context, n);
    label = Arrays.copyOf(label, n);
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
   * Opens every part added, in place, and returns the index of the first that failed to open
   * (cleared, as {@link RecordSealer#open} clears it), or -1 when all opened.
   */
  public int openAll() {
    Run run = new Run();
    if (size >= PARALLEL_PARTS && HELPERS != null) {
      int helpers = Math.min(HELPER_THREADS, size / PARALLEL_PARTS);
      try {
        for (int h = 0; h < helpers; h++) {
          HELPERS.execute(run::work);
        }
      } catch (RejectedExecutionException e) {
        // every helper is busy and the queue is full: the caller opens what no one claims
      }
    }
    run.work();
    run.awaitAll();
    if (run.error != null) {
      throw new IllegalStateException("opening sealed parts failed", run.error);
    }
    int failed = run.failed.get();
    return failed == Integer.MAX_VALUE ? -1 : failed;
  }

  /** One {@link #openAll}: the claim counter, the count of parts done, and the first failure. */
  private final class Run {
    final AtomicInteger next = new AtomicInteger();
    final AtomicInteger done = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger(Integer.MAX_VALUE);
    volatile Throwable error;

    void work() {
      RecordSealer.Worker w = null;
      try {
        for (int i; (i = next.getAndAdd(STEP)) < size; ) {
          int end = Math.min(size, i + STEP);
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
            done.addAndGet(end - i); // counted even on failure, or the caller would wait forever
          }
        }
      } finally {
        if (w != null) {
          sealer.giveBack(w);
        }
      }
    }

    /** Waits for the parts helpers claimed and have not finished: at most a step each. */
    void awaitAll() {
      for (int spins = 0; done.get() < size; spins++) {
        if (spins < 1000) {
          Thread.onSpinWait();
        } else {
          LockSupport.parkNanos(20_000);
        }
      }
    }
  }
}
