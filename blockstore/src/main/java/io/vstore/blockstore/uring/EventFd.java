package io.vstore.blockstore.uring;

import io.vstore.blockstore.AlreadyClosedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Linux eventfd: another thread's {@link #signal()} makes a pending 8-byte read of {@link #fd()}
 * complete (for instance one queued in the {@link IoUring} whose owner thread it should wake).
 * Thread-safe.
 */
public final class EventFd implements AutoCloseable {
  private static final int EFD_CLOEXEC = LibC.O_CLOEXEC;
  private static final int EFD_NONBLOCK = LibC.O_NONBLOCK;
  /** The 8-byte counter increment every signal writes; never modified, so shared by all. */
  private static final MemorySegment ONE = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);

  /** Set in {@link #state} once closed; the low bits count signals in progress. */
  private static final int CLOSED = 1 << 30;

  private final int fd;
  /**
   * Closed flag and count of signals in progress: the descriptor is closed by whichever of close
   * and the last running signal comes last, so a signal never writes to a descriptor number the
   * kernel has already handed to someone else.
   */
  private final AtomicInteger state = new AtomicInteger();

  private EventFd(int fd) {
    this.fd = fd;
  }

  /**
   * Creates an eventfd with counter 0 (EFD_CLOEXEC | EFD_NONBLOCK).
   *
   * @throws IOException naming the errno when the kernel refuses
   */
  public static EventFd create() throws IOException {
    String unsupported = LibC.unsupportedPlatform();
    if (unsupported != null) {
      throw new IOException("eventfd: " + unsupported);
    }
    int fd = LibC.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
      throw new IOException("eventfd: " + Errno.describe(LibC.errno()));
    }
    return new EventFd(fd);
  }

  /** Returns the descriptor to read (8 bytes: the counter, which the read resets to 0). */
  public int fd() {
    if ((state.get() & CLOSED) != 0) {
      throw new AlreadyClosedException(this);
    }
    return fd;
  }

  /**
   * Adds 1 to the counter, completing a pending read; signals before the read are not lost but
   * merge into one.
   *
   * @throws IOException naming the errno when the write fails
   * @throws AlreadyClosedException after {@link #close()}
   */
  public void signal() throws IOException {
    int s;
    do {
      s = state.get();
      if ((s & CLOSED) != 0) {
        throw new AlreadyClosedException(this);
      }
    } while (!state.compareAndSet(s, s + 1));
    try {
      while (true) {
        long written = LibC.write(fd, ONE.address(), Long.BYTES);
        if (written == Long.BYTES) {
          return;
        }
        int errno = LibC.errno();
        // EAGAIN: the counter is saturated, so a wake-up is already pending.
        if (errno == Errno.EAGAIN) {
          return;
        }
        if (errno != Errno.EINTR) {
          throw new IOException("eventfd write to " + this + ": " + Errno.describe(errno));
        }
      }
    } finally {
      if (state.decrementAndGet() == CLOSED) {
        closeDescriptor();
      }
    }
  }

  /** Closes the descriptor (at once, or when the last signal in progress returns); idempotent. */
  @Override
  public void close() {
    int previous = state.getAndUpdate(s -> s | CLOSED);
    if (previous == 0) {
      closeDescriptor();
    }
  }

  private void closeDescriptor() {
    try {
      NativeFiles.close(fd);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Returns "eventfd N". */
  @Override
  public String toString() {
    return "eventfd " + fd;
  }
}
