package io.vstore.blockstore.uring;

import java.lang.foreign.MemorySegment;

/** Linux errno values this package reacts to, and their descriptions for error messages. */
final class Errno {
  static final int EPERM = 1;
  static final int ENOENT = 2;
  static final int EINTR = 4;
  static final int EBADF = 9;
  static final int EAGAIN = 11;
  static final int ENOMEM = 12;
  static final int EBUSY = 16;
  static final int EEXIST = 17;
  static final int EINVAL = 22;
  static final int ENOSYS = 38;
  static final int ETIME = 62;

  /** Longest C string read back from strerror and friends; theirs are far shorter. */
  private static final long MAX_MESSAGE_BYTES = 256;

  private Errno() {}

  /** Describes {@code errno} as "Interrupted system call (EINTR)", falling back to "errno N". */
  static String describe(int errno) {
    String text = cString(LibC.errorDescription(errno));
    String name = cString(LibC.errorName(errno));
    if (text == null) {
      text = "errno " + errno;
    }
    return name == null ? text : text + " (" + name + ")";
  }

  private static String cString(MemorySegment pointer) {
    if (pointer == null || pointer.equals(MemorySegment.NULL)) {
      return null;
    }
    return pointer.reinterpret(MAX_MESSAGE_BYTES).getString(0);
  }
}
