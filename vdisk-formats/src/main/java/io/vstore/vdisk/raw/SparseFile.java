package io.vstore.vdisk.raw;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Linux's sparse-file calls through the FFM API: {@code lseek(SEEK_DATA/SEEK_HOLE)} finds holes
 * without reading them, {@code fallocate(PUNCH_HOLE|KEEP_SIZE)} releases space. The JDK has
 * neither. On another OS or architecture {@link #open} returns null and callers fall back to
 * treating the whole file as data and writing zeros.
 */
final class SparseFile implements AutoCloseable {
  private static final int O_RDONLY = 0;
  private static final int O_RDWR = 2;
  private static final int O_CLOEXEC = 0x80000;
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;
  private static final int FALLOC_FL_KEEP_SIZE = 1;
  private static final int FALLOC_FL_PUNCH_HOLE = 2;
  private static final int ENXIO = 6;
  private static final int EOPNOTSUPP = 95;

  private static final Native NATIVE = Native.load();

  private final Path path;
  private final int fd;
  @GuardedBy("this")
  private boolean closed;

  private SparseFile(Path path, int fd) {
    this.path = path;
    this.fd = fd;
  }

  /** Opens a second descriptor on {@code path} for hole queries, or returns null where unsupported. */
  static SparseFile open(Path path, boolean writable) {
    if (NATIVE == null) {
      return null;
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(NATIVE.stateLayout);
      int fd = (int) NATIVE.open.invokeExact(state, arena.allocateFrom(path.toString()),
          (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
      return fd < 0 ? null : new SparseFile(path, fd);
    } catch (Throwable t) {
      return null;
    }
  }

  /**
   * Returns the first offset at or after {@code from} that holds data ({@code SEEK_DATA}), or
   * {@code -1} when only a hole follows.
   */
  long nextData(long from) throws IOException {
    return seek(from, SEEK_DATA);
  }

  /** Returns the first offset at or after {@code from} in a hole; the file's end counts as one. */
  long nextHole(long from) throws IOException {
    return seek(from, SEEK_HOLE);
  }

  private synchronized long seek(long from, int whence) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(NATIVE.stateLayout);
      long r = (long) NATIVE.lseek.invokeExact(state, fd, from, whence);
      if (r < 0) {
        int errno = (int) NATIVE.errno.get(state, 0L);
        if (errno == ENXIO) {
          return -1;
        }
        throw new IOException("lseek(" + (whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE") + ", " + from
            + ") failed on " + path + ": errno " + errno);
      }
      return r;
    } catch (IOException e) {
      throw e;
    } catch (Throwable t) {
      throw new IOException("lseek failed on " + path, t);
    }
  }

  /** Releases the space of a range, keeping the size; returns false where the file system cannot. */
  boolean punchHole(long offset, long length) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(NATIVE.stateLayout);
      int r = (int) NATIVE.fallocate.invokeExact(state, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
      if (r != 0) {
        int errno = (int) NATIVE.errno.get(state, 0L);
        if (errno == EOPNOTSUPP) {
          return false;
        }
        throw new IOException("fallocate(PUNCH_HOLE) failed on " + path + " at " + offset + ": errno " + errno);
      }
      return true;
    } catch (IOException e) {
      throw e;
    } catch (Throwable t) {
      throw new IOException("fallocate failed on " + path, t);
    }
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      try {
        int ignored = (int) NATIVE.close.invokeExact(fd);
      } catch (Throwable t) {
        // Closing a descriptor used only for queries cannot lose data.
      }
    }
  }

  /** The bound native functions, or null when this platform lacks them. */
  private record Native(MethodHandle open, MethodHandle lseek, MethodHandle fallocate, MethodHandle close,
      StructLayout stateLayout, VarHandle errno) {

    static Native load() {
      String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
      String arch = System.getProperty("os.arch", "");
      if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
        return null; // the flag and errno values above are Linux x86-64's
      }
      try {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        StructLayout layout = Linker.Option.captureStateLayout();
        VarHandle errnoHandle = layout.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
        MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), errno);
        MethodHandle lseek = linker.downcallHandle(libc.find("lseek").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT),
            errno);
        MethodHandle fallocate = linker.downcallHandle(libc.find("fallocate").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), errno);
        MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        return new Native(open, lseek, fallocate, close, layout, errnoHandle);
      } catch (Throwable t) {
        return null; // native access disabled or symbols missing: callers fall back
      }
    }
  }
}
