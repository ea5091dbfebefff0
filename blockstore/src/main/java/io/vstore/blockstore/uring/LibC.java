package io.vstore.blockstore.uring;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Locale;
import java.util.Optional;

/**
 * Downcalls into the C library for the few calls this package makes. Each call that can fail
 * returns -1 (or MAP_FAILED) like its C counterpart and leaves the errno of the calling thread in
 * {@link #errno()}, captured by the linker because the JVM itself may change errno between calls.
 */
final class LibC {
  /** io_uring system call numbers: one generic table, the same on x86_64 and aarch64. */
  static final long SYS_IO_URING_SETUP = 425;
  static final long SYS_IO_URING_ENTER = 426;

  static final int O_RDONLY = 0;
  /** O_CLOEXEC and O_NONBLOCK have these values on x86_64 and aarch64 (not on every Linux port). */
  static final int O_CLOEXEC = 0x80000;
  static final int O_NONBLOCK = 0x800;
  static final int PROT_READ = 0x1;
  static final int PROT_WRITE = 0x2;
  static final int MAP_SHARED = 0x01;
  static final int MAP_POPULATE = 0x8000;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final SymbolLookup LIBC = LINKER.defaultLookup();
  private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
  private static final VarHandle ERRNO_HANDLE =
      Linker.Option.captureStateLayout().varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final long CAPTURE_SIZE = Linker.Option.captureStateLayout().byteSize();

  /** One capture buffer per thread: allocating one per call would cost more than the call. */
  private static final ThreadLocal<MemorySegment> CAPTURE =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_SIZE));

  // syscall(long number, ...): the six arguments are variadic and passed as longs.
  private static final MethodHandle SYSCALL = downcall("syscall",
      FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
          JAVA_LONG, JAVA_LONG),
      ERRNO, Linker.Option.firstVariadicArg(1));
  private static final MethodHandle MMAP = downcall("mmap",
      FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG),
      ERRNO);
  private static final MethodHandle MUNMAP = downcall("munmap",
      FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), ERRNO);
  // open(const char *path, int flags, ...): the mode is variadic.
  private static final MethodHandle OPEN = downcall("open",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), ERRNO,
      Linker.Option.firstVariadicArg(2));
  private static final MethodHandle CLOSE = downcall("close",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT), ERRNO);
  private static final MethodHandle EVENTFD = downcall("eventfd",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ERRNO);
  // posix_fadvise returns the error number itself and leaves errno alone.
  private static final MethodHandle FADVISE = downcall("posix_fadvise",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
  static final int POSIX_FADV_RANDOM = 1;
  private static final MethodHandle WRITE = downcall("write",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), ERRNO);
  // glibc 2.32 and later; strerror is the fallback for the description.
  private static final MethodHandle STRERRORNAME_NP = optionalDowncall("strerrorname_np",
      FunctionDescriptor.of(ADDRESS, JAVA_INT));
  private static final MethodHandle STRERRORDESC_NP = optionalDowncall("strerrordesc_np",
      FunctionDescriptor.of(ADDRESS, JAVA_INT));
  private static final MethodHandle STRERROR = optionalDowncall("strerror",
      FunctionDescriptor.of(ADDRESS, JAVA_INT));

  private LibC() {}

  /** Returns why this platform cannot use this binding at all, or null when it can try. */
  static String unsupportedPlatform() {
    String os = System.getProperty("os.name", "");
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (!os.equals("Linux")) {
      return "io_uring needs Linux, this is " + os;
    }
    if (!arch.equals("amd64") && !arch.equals("x86_64") && !arch.equals("aarch64")) {
      return "io_uring binding supports x86_64 and aarch64, this is " + arch;
    }
    return null;
  }

  /** Returns the errno the last failing call of this thread left. */
  static int errno() {
    return (int) ERRNO_HANDLE.get(CAPTURE.get(), 0L);
  }

  /** Calls syscall(2) with six arguments; returns -1 and sets {@link #errno()} on failure. */
  static long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
    try {
      return (long) SYSCALL.invokeExact(CAPTURE.get(), number, a1, a2, a3, a4, a5, a6);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Maps {@code length} bytes of {@code fd} at {@code offset}; returns -1 (MAP_FAILED) on failure. */
  static long mmap(long length, int prot, int flags, int fd, long offset) {
    try {
      return (long) MMAP.invokeExact(CAPTURE.get(), 0L, length, prot, flags, fd, offset);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Unmaps a mapping made by {@link #mmap}; returns -1 on failure. */
  static int munmap(long address, long length) {
    try {
      return (int) MUNMAP.invokeExact(CAPTURE.get(), address, length);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Opens the NUL-terminated {@code path} with {@code flags}; returns -1 on failure. */
  static int open(MemorySegment path, int flags) {
    try {
      return (int) OPEN.invokeExact(CAPTURE.get(), path, flags, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Closes {@code fd}; returns -1 on failure. */
  static int close(int fd) {
    try {
      return (int) CLOSE.invokeExact(CAPTURE.get(), fd);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Gives the kernel {@code advice} about the whole of {@code fd}; returns 0 or an error number. */
  static int fadvise(int fd, int advice) {
    try {
      return (int) FADVISE.invokeExact(fd, 0L, 0L, advice);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Creates an eventfd; returns -1 on failure. */
  static int eventfd(int initialValue, int flags) {
    try {
      return (int) EVENTFD.invokeExact(CAPTURE.get(), initialValue, flags);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Writes {@code length} bytes at native {@code address} to {@code fd}; returns -1 on failure. */
  static long write(int fd, long address, long length) {
    try {
      return (long) WRITE.invokeExact(CAPTURE.get(), fd, address, length);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Returns the C string naming {@code errno} ("EINTR"), or null when libc cannot tell. */
  static MemorySegment errorName(int errno) {
    return STRERRORNAME_NP == null ? null : callString(STRERRORNAME_NP, errno);
  }

  /** Returns the C string describing {@code errno}, or null when libc cannot tell. */
  static MemorySegment errorDescription(int errno) {
    MethodHandle handle = STRERRORDESC_NP != null ? STRERRORDESC_NP : STRERROR;
    return handle == null ? null : callString(handle, errno);
  }

  private static MemorySegment callString(MethodHandle handle, int errno) {
    try {
      return (MemorySegment) handle.invokeExact(errno);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static MethodHandle downcall(String name, FunctionDescriptor descriptor,
      Linker.Option... options) {
    MemorySegment symbol = LIBC.find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    return LINKER.downcallHandle(symbol, descriptor, options);
  }

  private static MethodHandle optionalDowncall(String name, FunctionDescriptor descriptor) {
    Optional<MemorySegment> symbol = LIBC.find(name);
    return symbol.map(s -> LINKER.downcallHandle(s, descriptor)).orElse(null);
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException e) {
      throw e;
    }
    if (t instanceof Error e) {
      throw e;
    }
    // Downcall handles declare Throwable but native functions throw nothing checked.
    throw new IllegalStateException("unexpected exception from a native call", t);
  }
}
