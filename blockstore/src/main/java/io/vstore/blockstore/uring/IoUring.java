package io.vstore.blockstore.uring;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.vstore.blockstore.AlreadyClosedException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * One io_uring instance; not thread-safe: one owner thread submits and reaps.
 *
 * <p>Reads are queued with {@link #prepareRead}, handed to the kernel with {@link #submit()} or
 * {@link #submitAndWait(int)}, and their results come back through {@link #drainCompletions}. The
 * ring never holds more operations than its completion queue can take ({@link #freeSlots()} counts
 * undrained completions too), so completions are never dropped or parked in the kernel's overflow
 * list. A thread waiting in {@link #submitAndWait(int)} cannot be interrupted; to wake it from
 * another thread, keep a read of an {@link EventFd} in flight and {@link EventFd#signal()} it.
 */
public final class IoUring implements AutoCloseable {
  /** Setup flag: completions run as task work at the next kernel entry rather than by interrupt. */
  public static final int SETUP_COOP_TASKRUN = 1 << 8;
  /** Setup flag: only the thread that made the ring may submit to it. */
  public static final int SETUP_SINGLE_ISSUER = 1 << 12;
  /** Setup flag: completions are processed only when the owner thread waits in the ring. */
  public static final int SETUP_DEFER_TASKRUN = 1 << 13;
  /** Setup flag: no SQ index array; the kernel takes SQEs in ring order. */
  public static final int SETUP_NO_SQARRAY = 1 << 16;
  /** Most submission slots a ring gets; larger requests are clamped. */
  public static final int MAX_ENTRIES = 4096;

  private static final int FEAT_SINGLE_MMAP = 1;
  private static final int FEAT_EXT_ARG = 1 << 8;
  private static final long OFF_SQ_RING = 0L;
  private static final long OFF_CQ_RING = 0x8000000L;
  private static final long OFF_SQES = 0x10000000L;
  private static final int ENTER_GETEVENTS = 1;
  private static final int ENTER_EXT_ARG = 1 << 3;

  /** struct io_uring_sqe: 64 bytes; only the fields a read or cancel uses are named. */
  private static final int SQE_SIZE = 64;
  private static final int SQE_OPCODE = 0;
  private static final int SQE_FD = 4;
  private static final int SQE_OFF = 8;
  private static final int SQE_ADDR = 16;
  private static final int SQE_LEN = 24;
  private static final int SQE_OP_FLAGS = 28;
  private static final int SQE_USER_DATA = 32;
  private static final byte OP_NOP = 0;
  private static final byte OP_ASYNC_CANCEL = 14;
  private static final byte OP_READ = 22;
  private static final int ASYNC_CANCEL_ANY = 1 << 2;

  /** struct io_uring_cqe: u64 user_data, s32 res, u32 flags. */
  private static final int CQE_SIZE = 16;
  private static final int CQE_RES = 8;

  /** struct io_uring_getevents_arg (24 bytes) followed by the struct __kernel_timespec it names. */
  private static final int GETEVENTS_ARG_SIZE = 24;
  private static final int GETEVENTS_ARG_TS = 16;
  private static final int TIMESPEC_OFFSET = GETEVENTS_ARG_SIZE;
  private static final long CLOSE_WAIT_NANOS = 5_000_000_000L;
  /** Bound on ring mappings, far above what MAX_ENTRIES needs, against a garbled params reply. */
  private static final long MAX_RING_BYTES = 64L << 20;

  private static final VarHandle INT = JAVA_INT.varHandle();

  private final int ringFd;
  private final int flags;
  private final int features;
  /** Owns the mappings (closing it unmaps them) and the small argument buffers. */
  private final Arena arena;
  private final MemorySegment sqRing;
  private final MemorySegment cqRing;
  private final MemorySegment sqes;
  private final MemorySegment waitArg;
  private final int sqEntries;
  private final int sqMask;
  private final int cqEntries;
  private final int cqMask;
  private final long sqHeadOffset;
  private final long sqTailOffset;
  private final long cqHeadOffset;
  private final long cqTailOffset;
  private final long cqesOffset;

  /** Our SQ tail: ahead of the kernel's copy by the entries queued since the last submit. */
  private int sqTail;
  /** Our CQ head, published to the kernel after each completion is consumed. */
  private int cqHead;
  /** Operations the kernel took whose completions have not been drained yet. */
  private int inFlight;
  private boolean closed;
  /** Whether close saw the completion of everything that was in flight (see {@link #close()}). */
  private boolean closedCleanly;

  private IoUring(int ringFd, RingParams p, Arena arena, MemorySegment sqRing,
      MemorySegment cqRing, MemorySegment sqes) {
    this.ringFd = ringFd;
    this.flags = p.flags();
    this.features = p.features();
    this.arena = arena;
    this.sqRing = sqRing;
    this.cqRing = cqRing;
    this.sqes = sqes;
    this.sqEntries = sqRing.get(JAVA_INT, p.sqRingEntries());
    this.sqMask = sqRing.get(JAVA_INT, p.sqRingMask());
    this.cqEntries = cqRing.get(JAVA_INT, p.cqRingEntries());
    this.cqMask = cqRing.get(JAVA_INT, p.cqRingMask());
    this.sqHeadOffset = p.sqHead();
    this.sqTailOffset = p.sqTail();
    this.cqHeadOffset = p.cqHead();
    this.cqTailOffset = p.cqTail();
    this.cqesOffset = p.cqCqes();
    this.sqTail = sqRing.get(JAVA_INT, sqTailOffset);
    this.cqHead = cqRing.get(JAVA_INT, cqHeadOffset);
    this.waitArg = arena.allocate(GETEVENTS_ARG_SIZE + 2 * Long.BYTES, Long.BYTES);
    if ((flags & SETUP_NO_SQARRAY) == 0) {
      // Identity map: SQE i sits in slot i, so the kernel consumes SQEs in the order we queue them.
      for (int i = 0; i < sqEntries; i++) {
        sqRing.set(JAVA_INT, p.sqArray() + (long) i * Integer.BYTES, i);
      }
    }
  }

  /** Returns whether this JVM and kernel can make rings (cached probe: one tiny ring, one NOP). */
  public static boolean available() {
    return Probe.REASON == null;
  }

  /** Returns why rings cannot be made (e.g. "io_uring_setup: Operation not permitted (EPERM)"), else null. */
  public static String unavailableReason() {
    return Probe.REASON;
  }

  /**
   * Makes a ring of at least {@code entries} submission slots (rounded up to a power of two,
   * clamped to {@link #MAX_ENTRIES}); the completion queue is twice as large.
   *
   * <p>{@code singleIssuer} asks for {@link #SETUP_SINGLE_ISSUER} | {@link #SETUP_DEFER_TASKRUN}
   * (completions are then processed only when the owner thread waits in this ring, so call
   * {@link #submitAndWait(int)}, with 0 when it must not block, before draining); when the kernel
   * refuses these flags it falls back to {@link #SETUP_COOP_TASKRUN}, then to none. {@link
   * #SETUP_NO_SQARRAY} is added whenever the kernel takes it. {@link #flags()} tells what is in
   * force. With {@code singleIssuer}, call this on the owner thread: the kernel binds the ring to
   * it.
   *
   * @throws IoUringUnavailableException naming the errno when the platform or the kernel refuses
   * @throws IOException naming the errno when mapping the rings fails
   */
  public static IoUring open(int entries, boolean singleIssuer) throws IOException {
    if (entries < 1) {
      throw new IllegalArgumentException("io_uring entries must be at least 1: " + entries);
    }
    int size = entries >= MAX_ENTRIES ? MAX_ENTRIES
        : entries == 1 ? 1 : Integer.highestOneBit(entries - 1) << 1;
    String unsupported = LibC.unsupportedPlatform();
    if (unsupported != null) {
      throw new IoUringUnavailableException(unsupported, 0);
    }
    int[] taskRunFlags = singleIssuer
        ? new int[] {SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN, SETUP_COOP_TASKRUN, 0}
        : new int[] {0};
    int lastErrno = 0;
    try (Arena scratch = Arena.ofConfined()) {
      MemorySegment params = scratch.allocate(RingParams.SIZE, Long.BYTES);
      for (int taskRun : taskRunFlags) {
        for (int setupFlags : new int[] {taskRun | SETUP_NO_SQARRAY, taskRun}) {
          RingParams.writeRequest(params, setupFlags);
          long fd = LibC.syscall(LibC.SYS_IO_URING_SETUP, size, params.address(), 0, 0, 0, 0);
          if (fd >= 0) {
            return map((int) fd, RingParams.read(params));
          }
          lastErrno = LibC.errno();
          // EINVAL: this kernel does not know a flag; anything else will not improve with fewer.
          if (lastErrno != Errno.EINVAL) {
            throw new IoUringUnavailableException(
                "io_uring_setup: " + Errno.describe(lastErrno), lastErrno);
          }
        }
      }
    }
    throw new IoUringUnavailableException("io_uring_setup: " + Errno.describe(lastErrno)
        + " even without setup flags", lastErrno);
  }

  private static IoUring map(int fd, RingParams p) throws IOException {
    Arena arena = Arena.ofShared();
    boolean success = false;
    try {
      if (p.sqEntries() < 1 || p.cqEntries() < 1
          || p.sqEntries() > MAX_ENTRIES || p.cqEntries() > 2 * MAX_ENTRIES) {
        throw new IOException("bad io_uring_params from the kernel: " + p);
      }
      boolean hasArray = (p.flags() & SETUP_NO_SQARRAY) == 0;
      long sqBytes = p.sqRingBytes(hasArray);
      long cqBytes = p.cqRingBytes(CQE_SIZE);
      if (sqBytes > MAX_RING_BYTES || cqBytes > MAX_RING_BYTES) {
        throw new IOException("bad io_uring_params from the kernel: ring of "
            + Math.max(sqBytes, cqBytes) + " bytes: " + p);
      }
      MemorySegment sqRing;
      MemorySegment cqRing;
      if ((p.features() & FEAT_SINGLE_MMAP) != 0) {
        sqRing = mmap(arena, fd, Math.max(sqBytes, cqBytes), OFF_SQ_RING, "rings");
        cqRing = sqRing;
      } else {
        sqRing = mmap(arena, fd, sqBytes, OFF_SQ_RING, "SQ ring");
        cqRing = mmap(arena, fd, cqBytes, OFF_CQ_RING, "CQ ring");
      }
      MemorySegment sqes = mmap(arena, fd, (long) p.sqEntries() * SQE_SIZE, OFF_SQES, "SQEs");
      IoUring ring = new IoUring(fd, p, arena, sqRing, cqRing, sqes);
      if (ring.sqMask != ring.sqEntries - 1 || ring.cqMask != ring.cqEntries - 1
          || Integer.bitCount(ring.sqEntries) != 1 || Integer.bitCount(ring.cqEntries) != 1) {
        throw new IOException("bad io_uring rings from the kernel: " + ring);
      }
      success = true;
      return ring;
    } finally {
      if (!success) {
        arena.close();
        LibC.close(fd);
      }
    }
  }

  private static MemorySegment mmap(Arena arena, int fd, long bytes, long offset, String what)
      throws IOException {
    long address = LibC.mmap(bytes, LibC.PROT_READ | LibC.PROT_WRITE,
        LibC.MAP_SHARED | LibC.MAP_POPULATE, fd, offset);
    if (address == -1L) {
      throw new IOException("io_uring mmap of the " + what + " (" + bytes + " bytes): "
          + Errno.describe(LibC.errno()));
    }
    // The arena unmaps on close, and any later access through these segments throws instead of
    // touching unmapped memory.
    return MemorySegment.ofAddress(address).reinterpret(bytes, arena,
        unused -> LibC.munmap(address, bytes));
  }

  /** Returns the setup flags actually in force ({@code SETUP_*} bits). */
  public int flags() {
    return flags;
  }

  /** Returns the number of submission slots. */
  public int entries() {
    return sqEntries;
  }

  /** Returns how many submitted operations have completions not yet drained. */
  public int inFlight() {
    return inFlight;
  }

  /** Returns the free submission slots right now (undrained completions occupy slots too). */
  public int freeSlots() {
    ensureOpen();
    int queued = queued();
    return Math.min(sqEntries - queued, cqEntries - inFlight - queued);
  }

  /**
   * Queues a read of {@code length} bytes at {@code fileOffset} (-1: the file's current position,
   * for eventfds and pipes) of file descriptor {@code fd} into native memory {@code address}; the
   * completion carries {@code userData}. The memory must stay valid until the completion is
   * drained or the ring is closed.
   *
   * @return false, queuing nothing, when no slot is free (submit, or drain completions, first)
   */
  public boolean prepareRead(int fd, long address, int length, long fileOffset, long userData) {
    ensureOpen();
    if (fd < 0) {
      throw new IllegalArgumentException("negative file descriptor " + fd);
    }
    if (address == 0) {
      throw new IllegalArgumentException("null buffer address for a read of fd " + fd);
    }
    if (length < 0) {
      throw new IllegalArgumentException("negative read length " + length);
    }
    if (fileOffset < -1) {
      throw new IllegalArgumentException("read offset " + fileOffset + " is below -1");
    }
    if (freeSlots() == 0) {
      return false;
    }
    writeSqe(OP_READ, fd, fileOffset, address, length, 0, userData);
    return true;
  }

  /**
   * Queues a read filling the native segment {@code buffer} from {@code fileOffset} of {@code fd}
   * (see {@link #prepareRead(int, long, int, long, long)}).
   */
  public boolean prepareRead(int fd, MemorySegment buffer, long fileOffset, long userData) {
    if (!buffer.isNative()) {
      throw new IllegalArgumentException("read buffer is not native memory: " + buffer);
    }
    if (buffer.byteSize() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("read buffer of " + buffer.byteSize() + " bytes");
    }
    return prepareRead(fd, buffer.address(), (int) buffer.byteSize(), fileOffset, userData);
  }

  /** Queues a no-op that completes with result 0; returns false when no slot is free. */
  boolean prepareNop(long userData) {
    ensureOpen();
    if (freeSlots() == 0) {
      return false;
    }
    writeSqe(OP_NOP, 0, 0, 0, 0, 0, userData);
    return true;
  }

  private void writeSqe(byte opcode, int fd, long offset, long address, int length, int opFlags,
      long userData) {
    long base = (long) (sqTail & sqMask) * SQE_SIZE;
    // A slot keeps the fields of its previous use; zero it so none leaks into this operation.
    for (int i = 0; i < SQE_SIZE; i += Long.BYTES) {
      sqes.set(JAVA_LONG, base + i, 0L);
    }
    sqes.set(JAVA_BYTE, base + SQE_OPCODE, opcode);
    sqes.set(JAVA_INT, base + SQE_FD, fd);
    sqes.set(JAVA_LONG, base + SQE_OFF, offset);
    sqes.set(JAVA_LONG, base + SQE_ADDR, address);
    sqes.set(JAVA_INT, base + SQE_LEN, length);
    sqes.set(JAVA_INT, base + SQE_OP_FLAGS, opFlags);
    sqes.set(JAVA_LONG, base + SQE_USER_DATA, userData);
    sqTail++;
  }

  /**
   * Submits everything queued; never waits for completions.
   *
   * @return how many entries the kernel took (fewer than queued only when it answered EAGAIN or
   *     EBUSY; the rest stay queued for the next submit)
   * @throws IOException naming the errno when io_uring_enter fails
   */
  public int submit() throws IOException {
    ensureOpen();
    return enter(false, 0);
  }

  /**
   * Submits everything queued and waits until at least {@code minComplete} completions are ready
   * to drain (0: do not block, but let the kernel process completions it deferred to this thread).
   * Returns early, normally, when the kernel answers EAGAIN or EBUSY: drain, then call again.
   *
   * @return how many entries the kernel took
   * @throws IllegalArgumentException when {@code minComplete} exceeds the operations in flight or
   *     queued, which would wait forever
   * @throws IOException naming the errno when io_uring_enter fails
   */
  public int submitAndWait(int minComplete) throws IOException {
    ensureOpen();
    int possible = inFlight + queued();
    if (minComplete < 0 || minComplete > possible) {
      throw new IllegalArgumentException("cannot wait for " + minComplete + " completions with "
          + possible + " operations in flight or queued on " + this);
    }
    return enter(true, minComplete);
  }

  private int enter(boolean wait, int minComplete) throws IOException {
    int submitted = 0;
    while (true) {
      int toSubmit = queued();
      if (toSubmit == 0 && !wait) {
        return submitted;
      }
      // Release: the kernel must see the SQEs written before it sees the tail that covers them.
      INT.setRelease(sqRing, sqTailOffset, sqTail);
      long took = LibC.syscall(LibC.SYS_IO_URING_ENTER, ringFd, toSubmit, wait ? minComplete : 0,
          wait ? ENTER_GETEVENTS : 0, 0, 0);
      if (took < 0) {
        int errno = LibC.errno();
        if (errno == Errno.EINTR) {
          continue;
        }
        if (errno == Errno.EAGAIN || errno == Errno.EBUSY) {
          return submitted;
        }
        throw new IOException("io_uring_enter on " + this + ": " + Errno.describe(errno)
            + (errno == Errno.EEXIST && (flags & SETUP_SINGLE_ISSUER) != 0
                ? " (the ring belongs to the thread that opened it)" : ""));
      }
      submitted += (int) took;
      inFlight += (int) took;
      if (took < toSubmit) {
        // The kernel stops at an entry it cannot even start and skips the wait; go on with the
        // rest. Taking none at all would loop forever, so that is an error.
        if (took == 0) {
          throw new IOException("io_uring_enter on " + this + " took none of " + toSubmit
              + " queued entries");
        }
        continue;
      }
      if (!wait || readyCompletions() >= minComplete) {
        return submitted;
      }
      // A signal cut the wait short after the submission went through: wait again.
    }
  }

  /**
   * Hands every ready completion to {@code consumer} (userData, result: bytes read, or -errno) in
   * ring order and frees their slots; does not wait. Each completion is consumed before its
   * callback runs, so a callback that throws loses only its own completion, and a callback may
   * queue and submit new reads. On a {@link #SETUP_DEFER_TASKRUN} ring only completions the
   * kernel processed during a {@link #submitAndWait(int)} are ready.
   *
   * @return how many completions were handed over
   */
  public int drainCompletions(Completions consumer) {
    ensureOpen();
    Objects.requireNonNull(consumer, "consumer");
    int drained = 0;
    // Acquire: the CQE contents are written before the kernel publishes the tail covering them.
    int tail = (int) INT.getAcquire(cqRing, cqTailOffset);
    while (cqHead != tail && !closed) {
      long base = cqesOffset + (long) (cqHead & cqMask) * CQE_SIZE;
      long userData = cqRing.get(JAVA_LONG, base);
      int result = cqRing.get(JAVA_INT, base + CQE_RES);
      cqHead++;
      // Release: the kernel may reuse the slot only after we have read it.
      INT.setRelease(cqRing, cqHeadOffset, cqHead);
      inFlight--;
      drained++;
      consumer.complete(userData, result);
      if (cqHead == tail && !closed) {
        tail = (int) INT.getAcquire(cqRing, cqTailOffset);
      }
    }
    return drained;
  }

  /** Receives one completion: the userData of its read, and the bytes read or -errno. */
  @FunctionalInterface
  public interface Completions {
    /** Handles the completion of the operation queued with {@code userData}. */
    void complete(long userData, int result);
  }

  /**
   * Unmaps the rings and closes the ring fd; idempotent. Operations in flight are cancelled and
   * their completions awaited (for at most a few seconds, on the owner thread) before the rings go,
   * so their buffers must stay valid until close returns; queued but unsubmitted reads are dropped.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    try {
      closedCleanly = quiesce();
    } finally {
      closed = true;
      arena.close();
      LibC.close(ringFd);
    }
  }

  /** Cancels and awaits what is in flight; returns whether every completion came back. */
  private boolean quiesce() {
    sqTail = (int) INT.getAcquire(sqRing, sqHeadOffset);
    Completions discard = (userData, result) -> { };
    try {
      drainCompletions(discard);
      if (inFlight == 0) {
        return true;
      }
      // Reads of eventfds and pipes may never complete on their own; cancel whatever is in flight.
      writeSqe(OP_ASYNC_CANCEL, 0, 0, 0, 0, ASYNC_CANCEL_ANY, 0);
      enter(false, 0);
      if ((features & FEAT_EXT_ARG) == 0) {
        return false; // no timed wait on this kernel, and an untimed one might never return
      }
      long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
      drainCompletions(discard);
      while (inFlight > 0) {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
          return false;
        }
        waitArg.fill((byte) 0);
        waitArg.set(JAVA_LONG, GETEVENTS_ARG_TS, waitArg.address() + TIMESPEC_OFFSET);
        waitArg.set(JAVA_LONG, TIMESPEC_OFFSET, remaining / 1_000_000_000L);
        waitArg.set(JAVA_LONG, TIMESPEC_OFFSET + Long.BYTES, remaining % 1_000_000_000L);
        long r = LibC.syscall(LibC.SYS_IO_URING_ENTER, ringFd, 0, 1,
            ENTER_GETEVENTS | ENTER_EXT_ARG, waitArg.address(), GETEVENTS_ARG_SIZE);
        if (r < 0) {
          int errno = LibC.errno();
          if (errno != Errno.EINTR && errno != Errno.EAGAIN && errno != Errno.EBUSY) {
            return false; // ETIME, or a ring we cannot wait in (EEXIST: not the owner thread)
          }
        }
        drainCompletions(discard);
      }
      return true;
    } catch (IOException | RuntimeException e) {
      // Closing goes on regardless: the kernel cancels what is left when the ring fd closes.
      return false;
    }
  }

  /** Returns whether {@link #close()} saw every operation in flight complete before unmapping. */
  boolean closedCleanly() {
    return closedCleanly;
  }

  private int queued() {
    // Acquire: the kernel advances the SQ head once it has consumed entries.
    return sqTail - (int) INT.getAcquire(sqRing, sqHeadOffset);
  }

  private int readyCompletions() {
    return (int) INT.getAcquire(cqRing, cqTailOffset) - cqHead;
  }

  private void ensureOpen() {
    if (closed) {
      throw new AlreadyClosedException(this);
    }
  }

  /** Returns "io_uring fd N (S SQ / C CQ entries, flags 0x...)". */
  @Override
  public String toString() {
    return "io_uring fd " + ringFd + " (" + sqEntries + " SQ / " + cqEntries + " CQ entries, flags 0x"
        + Integer.toHexString(flags) + ")";
  }

  /** The cached availability probe, run on first use. */
  private static final class Probe {
    static final String REASON = probe();

    private static String probe() {
      try {
        String unsupported = LibC.unsupportedPlatform();
        if (unsupported != null) {
          return unsupported;
        }
        try (IoUring ring = open(2, false)) {
          ring.prepareNop(1);
          ring.submitAndWait(1);
          int[] result = {Integer.MIN_VALUE};
          ring.drainCompletions((userData, res) -> result[0] = res);
          return result[0] == 0 ? null : "io_uring NOP completed with " + result[0];
        }
      } catch (IOException e) {
        return e.getMessage();
      } catch (RuntimeException | LinkageError e) {
        // No native access, an unsupported linker, or a libc without these symbols; the cause of
        // a failed class initialization says which.
        Throwable cause = e instanceof ExceptionInInitializerError && e.getCause() != null
            ? e.getCause() : e;
        return "io_uring binding unusable: " + cause;
      }
    }
  }
}
