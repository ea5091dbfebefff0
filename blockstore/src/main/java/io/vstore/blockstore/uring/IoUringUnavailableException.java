package io.vstore.blockstore.uring;

import java.io.IOException;

/** Thrown when this JVM, platform or kernel cannot make an io_uring (setup refused or unsupported). */
public final class IoUringUnavailableException extends IOException {
  private static final long serialVersionUID = 1L;

  private final int errno;

  IoUringUnavailableException(String message, int errno) {
    super(message);
    this.errno = errno;
  }

  IoUringUnavailableException(String message, Throwable cause) {
    super(message, cause);
    this.errno = 0;
  }

  /** Returns the errno the kernel gave, or 0 when the refusal did not come from a system call. */
  public int errno() {
    return errno;
  }
}
