package io.vstore.nbd;

import io.vstore.blockstore.store.ReadPlan;
import io.vstore.blockstore.uring.EventFd;
import io.vstore.blockstore.uring.IoUring;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Serves one connection's reads of a volume with asynchronous file I/O. One platform thread owns
 * an io_uring: it plans the reads the connection's reader queues, submits their file reads
 * together, and completes each request (checks, reply) as its reads come back. A 4 KiB read then
 * costs no thread hand-off of its own; the thread wakes once per batch of requests or
 * completions. Measured before: handing each read to a worker thread that waits in {@code pread}
 * cost more CPU in context switches than the read itself.
 *
 * <p>Only the owner thread touches the ring (it is made with {@code SINGLE_ISSUER} and
 * {@code DEFER_TASKRUN}, so completions are processed when that thread waits, never by
 * interrupting another). The reader wakes it through an eventfd whose read is always pending in
 * the ring, and only when it is about to sleep.
 */
final class ReadRing implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ReadRing.class.getName());
  /**
   * Reads up to this size go through the ring. Large reads gain the most: after random writes a
   * 1 MiB read resolves into up to 256 pieces in as many places, which a worker read one blocking
   * {@code pread} after another (issue 13: sequential reads at a third of qemu-nbd's speed); the
   * ring submits them all at once. Larger reads are rare and go to the workers.
   */
  static final int MAX_READ_BYTES = 4 << 20;
  /** Submission slots: every request in flight with all its file reads, and the wakeup read. */
  private static final int ENTRIES = 2048;
  private static final long WAKEUP = -1L;
  /** Keeps what the kernel may still write to after a ring failed, so that it is never reused. */
  private static final List<Object> ABANDONED = java.util.Collections.synchronizedList(new ArrayList<>());

  /** One planned read request, completed on the ring's thread. */
  interface Job {
    /** Returns the request's plan, made by the connection's reader. */
    ReadPlan plan();

    /**
     * Sends the reply: the data, or {@code failure}. Replies are corked while a batch completes;
     * the request's buffer must stay as it is until {@link #release}.
     */
    void reply(Exception failure) throws IOException;

    /**
     * Releases the request once its reply is out. With {@code buffersReusable} false the kernel
     * may still write into the request's buffer, so it must not be reused.
     */
    void release(boolean buffersReusable);
  }

  /** A job in the ring: its file reads' results as they come, then its outcome. */
  private static final class Pending {
    final Job job;
    final int[] results;
    int left;
    Exception failure;

    Pending(Job job) {
      this.job = job;
      this.results = new int[job.plan().fileReads().size()];
      this.left = results.length;
    }
  }

  private final String name;
  private final Replies replies;
  /** Counts the reads this ring answered. */
  private final java.util.concurrent.atomic.LongAdder served;
  private final Queue<Job> queue = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean sleeping = new AtomicBoolean();
  private final EventFd wakeup;
  private final Thread thread;
  private final CountDownLatch started = new CountDownLatch(1);
  private volatile IOException setupFailure;
  private volatile boolean closing;
  private volatile boolean failed;
  // Owner thread only:
  private IoUring ring;
  private final List<Pending> slots = new ArrayList<>();
  private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
  private final MemorySegment wakeupBuffer = java.lang.foreign.Arena.ofAuto().allocate(8, 8);
  private boolean wakeupArmed;
  /** Jobs whose reads are complete, answered together after each drain. */
  private final List<Pending> finished = new ArrayList<>();

  private ReadRing(String name, Replies replies, EventFd wakeup, java.util.concurrent.atomic.LongAdder served) {
    this.served = served;
    this.name = name;
    this.replies = replies;
    this.wakeup = wakeup;
    this.thread = Thread.ofPlatform().daemon().name("nbd-ring-" + name).unstarted(this::run);
  }

  /**
   * Starts a ring for the connection {@code name}, or returns null when this machine cannot make
   * one (no io_uring: the connection then uses worker threads).
   */
  static ReadRing start(String name, Replies replies, java.util.concurrent.atomic.LongAdder served) {
    if (!IoUring.available()) {
      return null;
    }
    EventFd wakeup;
    try {
      wakeup = EventFd.create();
    } catch (IOException e) {
      LOG.log(Level.INFO, "nbd: no read ring for " + name + ": " + e.getMessage());
      return null;
    }
    ReadRing r = new ReadRing(name, replies, wakeup, served);
    r.thread.start();
    try {
      r.started.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (r.setupFailure != null) {
      LOG.log(Level.INFO, "nbd: no read ring for " + name + ": " + r.setupFailure.getMessage());
      r.close();
      return null;
    }
    return r;
  }

  /**
   * Queues {@code job}; returns false, queuing nothing, when the ring has failed (the caller then
   * reads another way).
   */
  boolean offer(Job job) {
    if (failed || closing) {
      return false;
    }
    queue.add(job);
    if (failed) {
      failQueued(new IOException("read ring failed")); // the ring's thread may have drained before the add
    } else if (sleeping.get() && sleeping.compareAndSet(true, false)) {
      signal();
    }
    return true;
  }

  private void signal() {
    try {
      wakeup.signal();
    } catch (IOException e) {
      LOG.log(Level.ERROR, "nbd: cannot wake the read ring of " + name, e);
    }
  }

  private void run() {
    try {
      ring = IoUring.open(ENTRIES, true);
    } catch (IOException e) {
      setupFailure = e;
      started.countDown();
      return;
    }
    started.countDown();
    try {
      loop();
      ring.close();
    } catch (IOException | RuntimeException e) {
      fail(e);
    }
  }

  private void loop() throws IOException {
    while (true) {
      if (!wakeupArmed) {
        prepare(wakeup.fd(), wakeupBuffer.address(), 8, -1, WAKEUP);
        wakeupArmed = true;
      }
      for (Job j = queue.poll(); j != null; j = queue.poll()) {
        start(j);
      }
      if (closing && slots.size() == freeSlots.size() && finished.isEmpty()) {
        return; // every job was answered; closing the ring cancels the pending wakeup read
      }
      sleeping.set(true);
      if (!queue.isEmpty() || !finished.isEmpty()) {
        sleeping.set(false); // more to start or answer first; still take in what has completed
        ring.submitAndWait(0);
      } else {
        ring.submitAndWait(1);
        sleeping.set(false);
      }
      ring.drainCompletions(this::completed);
      answerFinished();
    }
  }

  private void start(Job job) {
    ReadPlan plan = job.plan();
    Pending p = new Pending(job);
    if (p.left == 0) {
      finish(p);
      return;
    }
    int slot;
    if (freeSlots.isEmpty()) {
      slot = slots.size();
      slots.add(p);
    } else {
      slot = freeSlots.pop();
      slots.set(slot, p);
    }
    List<ReadPlan.FileRead> reads = plan.fileReads();
    for (int i = 0; i < reads.size(); i++) {
      ReadPlan.FileRead r = reads.get(i);
      ByteBuffer t = r.target();
      prepare(r.fd(), MemorySegment.ofBuffer(t).address(), t.remaining(), r.position(), ((long) slot << 32) | i);
    }
  }

  private void prepare(int fd, long address, int length, long position, long userData) {
    while (!ring.prepareRead(fd, address, length, position, userData)) {
      // No slot: hand the kernel what is queued and take in what has completed (a slot stays
      // taken until its completion is drained, so the completion queue never overflows).
      try {
        ring.submitAndWait(0);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      ring.drainCompletions(this::completed);
    }
  }

  private void completed(long userData, int result) {
    if (userData == WAKEUP) {
      wakeupArmed = false;
      return;
    }
    int slot = (int) (userData >>> 32);
    Pending p = slots.get(slot);
    p.results[(int) userData] = result;
    if (--p.left == 0) {
      slots.set(slot, null);
      freeSlots.push(slot);
      finish(p);
    }
  }

  private void finish(Pending p) {
    try {
      p.job.plan().finish(p.results);
    } catch (Exception e) {
      p.failure = e;
    }
    finished.add(p);
  }

  /** Answers the finished jobs with one gathering write, then releases them. */
  private void answerFinished() {
    if (finished.isEmpty()) {
      return;
    }
    replies.cork();
    try {
      for (Pending p : finished) {
        try {
          p.job.reply(p.failure);
        } catch (IOException e) {
          LOG.log(Level.DEBUG, () -> "nbd: " + name + " gone before a read reply");
        }
      }
    } finally {
      try {
        replies.uncork();
      } catch (IOException e) {
        LOG.log(Level.DEBUG, () -> "nbd: " + name + " gone before a batch of read replies");
      }
      for (Pending p : finished) {
        p.job.release(true);
      }
      served.add(finished.size());
      finished.clear();
    }
  }

  /** The ring broke: answer every job with the error, and keep what the kernel may still write to. */
  private void fail(Exception e) {
    failed = true;
    LOG.log(Level.ERROR, "nbd: the read ring of " + name + " failed; its connection falls back to worker threads", e);
    IOException failure = new IOException("read ring failed: " + e.getMessage(), e);
    ABANDONED.add(ring);
    try {
      replies.uncork();
    } catch (IOException gone) {
      LOG.log(Level.DEBUG, () -> "nbd: " + name + " gone before a batch of read replies");
    }
    for (Pending p : finished) {
      answer(p.job, p.failure != null ? p.failure : failure, true);
    }
    finished.clear();
    for (Pending p : slots) {
      if (p != null) {
        ABANDONED.add(p.job.plan()); // holds its files and scratch buffers
        answer(p.job, failure, false);
      }
    }
    failQueued(failure);
  }

  private void failQueued(IOException failure) {
    for (Job j = queue.poll(); j != null; j = queue.poll()) {
      j.plan().release();
      answer(j, failure, true);
    }
  }

  private void answer(Job job, Exception failure, boolean buffersReusable) {
    try {
      job.reply(failure);
    } catch (IOException e) {
      LOG.log(Level.DEBUG, () -> "nbd: " + name + " gone before a read reply");
    } finally {
      job.release(buffersReusable);
    }
  }

  /** Stops the thread once every queued job is answered; the caller stops queuing first. */
  @Override
  public void close() {
    closing = true;
    signal();
    if (Thread.currentThread() != thread && thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    failQueued(new IOException("server is shutting down")); // queued after the thread ended
    if (!failed) {
      wakeup.close();
    }
  }
}
